// What `mesh-trace doctor` reports: the kernel's facts and, for every hook point, the rung
// the ladder picks here or why none works. Computing only; printing is in the command.
import { readKernelFacts, type KernelFacts } from './capabilities.js';
import { HOOK_POINTS, type RungKind } from './hook-points.js';
import { chooseAll, type LadderChoice } from './ladder.js';
import { loadAddon } from './native.js';
import { nativeRungProbe } from './rung-probe.js';

export interface DoctorHook {
  hook: string;
  observes: string;
  /** the chosen rung, or null when nothing on this kernel observes it */
  rung: string | null;
  /** for a derived rung: what stands in for the hook */
  via?: string;
  /** 'probe': the rung's kfunc-free programs were loaded (kernels before 6.3) */
  reads?: 'btf' | 'probe';
  skipped: { rung: string; reason: string }[];
}

export interface DoctorReport {
  kernel: KernelFacts;
  /** false when this process cannot trace at all (and why) */
  canTrace: boolean;
  problem?: string;
  hooks: DoctorHook[];
}

export function toDoctorHook(c: LadderChoice): DoctorHook {
  return {
    hook: c.hook,
    observes: c.observes,
    rung: c.chosen?.kind ?? null,
    ...(c.chosen?.via ? { via: c.chosen.via } : {}),
    ...(c.chosen?.reads ? { reads: c.chosen.reads } : {}),
    skipped: [
      ...c.outcomes.filter((o) => !o.ok).map((o) => ({ rung: o.kind, reason: o.reason ?? 'unknown' })),
      ...c.outcomes.filter((o) => o.ok && o.note).map((o) => ({ rung: `${o.kind} with kfuncs`, reason: o.note! })),
    ],
  };
}

export function runDoctor(opts: { disabledRungs?: string[]; forcedRungs?: Record<string, RungKind> } = {}): DoctorReport {
  const kernel = readKernelFacts();
  if (!kernel.privileged || !kernel.btf) {
    const problem = !kernel.privileged
      ? 'not root: loading BPF programs needs CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN'
      : 'no BTF at /sys/kernel/btf/vmlinux';
    return {
      kernel,
      canTrace: false,
      problem,
      hooks: HOOK_POINTS.map((h) => ({ hook: h.id, observes: h.observes, rung: null, skipped: [{ rung: 'all', reason: `not probed: ${problem}` }] })),
    };
  }
  const plan = chooseAll(HOOK_POINTS, kernel, nativeRungProbe(loadAddon()), { disabled: opts.disabledRungs, forced: opts.forcedRungs });
  const hooks = plan.map(toDoctorHook);
  const essential = ['device-ingress', 'device-egress'];
  const missing = hooks.filter((h) => essential.includes(h.hook) && !h.rung);
  return {
    kernel,
    canTrace: missing.length === 0,
    ...(missing.length ? { problem: `no way to attach to devices (${missing.map((m) => m.hook).join(', ')})` } : {}),
    hooks,
  };
}
