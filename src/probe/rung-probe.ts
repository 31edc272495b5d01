// Proves a rung on the running kernel: loads its programs alone and attaches them once
// (tcx/clsact on loopback, netfilter in this namespace, tracing host-wide), then detaches.
import type { NativeAddon, NativeFailure } from './native.js';
import type { Rung, RungKind } from './hook-points.js';
import type { RungProbe } from './ladder.js';

/** libbpf's most telling line, e.g. "failed to find kernel BTF type ID of 'ip_vs_nat_xmit': -3" */
export function telling(log: string | undefined): string | undefined {
  if (!log) return undefined;
  const lines = log
    .split('\n')
    .map((l) => l.replace(/^libbpf: /, '').trim())
    .filter((l) => l && !/failed to load object|failed to load BPF skeleton|failed to load: -\d+$|BEGIN PROG LOAD LOG|END PROG LOAD LOG|^processed \d+ insns|try raising 'ulimit -l'/.test(l));
  return lines[0]?.replace(/^prog '[^']+': /, '');
}

export function failureReason(f: NativeFailure): string {
  const base = `${f.op}: ${f.message} (${f.code})`;
  const t = telling(f.log);
  return t && !base.includes(t) ? `${base}: ${t}` : base;
}

const kindAttach: Record<RungKind, 'tcx' | 'clsact' | 'netfilter' | 'auto' | 'load'> = {
  tcx: 'tcx',
  clsact: 'clsact',
  netfilter: 'netfilter',
  tp_btf: 'auto',
  fentry: 'auto',
  kprobe: 'auto',
  derived: 'load',
};

export function nativeRungProbe(addon: NativeAddon): RungProbe {
  return (rung: Rung) => {
    for (const prog of rung.programs) {
      const r = addon.probeProgram(prog, { attach: kindAttach[rung.kind] });
      if (!r.ok) return failureReason(r);
    }
    return undefined;
  };
}
