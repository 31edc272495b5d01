// Proves a rung on the running kernel: loads its programs alone and attaches them once
// (tcx/clsact on loopback, netfilter in this namespace, tracing host-wide), then detaches.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addonPath, type NativeAddon, type NativeFailure } from './native.js';
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

/**
 * What a rung can do does not change while the kernel runs: outcomes are kept in
 * /run/mesh-trace (gone at reboot) for this boot and this build of the addon, so only the
 * first start pays for proving every rung (~25 ms a program). Preconditions that can
 * change (ip_vs loaded later) are checked by the ladder on every start, before this.
 */
export function cachedRungProbe(inner: RungProbe, file = join(process.env.MESH_TRACE_STATE_DIR ?? '/run/mesh-trace', 'rungs.json')): RungProbe {
  let stamp = '';
  try {
    stamp = `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()} ${statSync(addonPath()).mtimeMs}`;
  } catch {
    return inner;
  }
  let cache: Record<string, string | null> = {};
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { stamp: string; outcomes: Record<string, string | null> };
    if (saved.stamp === stamp) cache = saved.outcomes;
  } catch {
    /* no cache yet */
  }
  return (rung) => {
    const key = `${rung.kind}:${rung.programs.join(',')}`;
    if (key in cache) return cache[key] ?? undefined;
    const why = inner(rung);
    cache[key] = why ?? null;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify({ stamp, outcomes: cache }));
    } catch {
      /* a read-only /run: probe again next time */
    }
    return why;
  };
}
