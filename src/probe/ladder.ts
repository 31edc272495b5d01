// The attach ladder: for each hook point, the best rung this kernel allows, and for every
// rung skipped the reason in the kernel's (or libbpf's) own words. Pure: the probe is
// injected, so the choice is unit-tested over simulated kernels.
import type { KernelFacts } from './capabilities.js';
import type { HookPoint, Rung, RungKind } from './hook-points.js';

export interface RungOutcome {
  kind: RungKind;
  ok: boolean;
  reason?: string;
  /** on success through a rung's kfunc-free twin: why the kfunc programs did not load */
  note?: string;
}

export interface LadderChoice {
  hook: string;
  observes: string;
  /** undefined: no rung works here */
  chosen?: Rung;
  outcomes: RungOutcome[];
}

/** proves a rung on this kernel: undefined when it works, else why not */
export type RungProbe = (rung: Rung) => string | undefined;

export interface LadderOptions {
  /** rungs switched off, e.g. 'fentry' (all hooks) or 'veth-xmit:fentry' (one hook) */
  disabled?: string[];
  /**
   * one rung forced per hook, e.g. { 'veth-xmit': 'kprobe' } (from --rung veth-xmit=kprobe):
   * every other rung of that hook is skipped, so the hook gets that rung or none
   */
  forced?: Record<string, RungKind>;
}

/**
 * `chosenSoFar` answers whether another hook point already got a rung (chooseAll fills it
 * in order); alone, a rung covered by another hook point is not taken.
 */
export function chooseRung(hook: HookPoint, facts: KernelFacts, probe: RungProbe, opts: LadderOptions = {}, chosenSoFar: (hookId: string) => boolean = () => false): LadderChoice {
  const disabled = new Set(opts.disabled ?? []);
  const forced = opts.forced?.[hook.id];
  const outcomes: RungOutcome[] = [];
  let chosen: Rung | undefined;
  for (const rung of hook.rungs) {
    if (chosen) break;
    if (disabled.has(rung.kind) || disabled.has(`${hook.id}:${rung.kind}`)) {
      outcomes.push({ kind: rung.kind, ok: false, reason: 'switched off by --disable-rung' });
      continue;
    }
    if (forced && forced !== rung.kind) {
      outcomes.push({ kind: rung.kind, ok: false, reason: `switched off by --rung ${hook.id}=${forced}` });
      continue;
    }
    if (rung.coveredBy && !chosenSoFar(rung.coveredBy)) {
      outcomes.push({ kind: rung.kind, ok: false, reason: `${rung.coveredBy} has no rung here` });
      continue;
    }
    const pre = rung.precondition?.(facts);
    if (pre) {
      outcomes.push({ kind: rung.kind, ok: false, reason: pre });
      continue;
    }
    const why = rung.programs.length === 0 ? undefined : probe(rung);
    if (!why) {
      outcomes.push({ kind: rung.kind, ok: true });
      chosen = rung.withoutKfuncs ? { ...rung, reads: 'btf' } : rung;
      continue;
    }
    // the kfunc programs did not load: the same rung through its kfunc-free twin
    const twin: Rung | undefined = rung.withoutKfuncs && { ...rung, programs: rung.withoutKfuncs, withoutKfuncs: undefined, reads: 'probe' };
    const twinWhy = twin ? probe(twin) : why;
    if (twin && !twinWhy) {
      // the twins differ only in how they read, so the kfuncs are what this kernel refused
      outcomes.push({ kind: rung.kind, ok: true, note: `the kfunc programs do not load (bpf_cast_to_kern_ctx, bpf_rdonly_cast: kernel 6.3+): ${why}` });
      chosen = twin;
      continue;
    }
    outcomes.push({ kind: rung.kind, ok: false, reason: twin ? `${why}; without kfuncs: ${twinWhy}` : why });
  }
  return { hook: hook.id, observes: hook.observes, chosen, outcomes };
}

/**
 * Probes are shared: the same program proven once serves every hook that uses it, and a
 * program kind that failed for a reason common to the kind (fentry under lockdown) is
 * still tried per function, since a missing function is a different reason.
 */
export function memoProbe(probe: RungProbe): RungProbe {
  const seen = new Map<string, string | undefined>();
  return (rung) => {
    const key = `${rung.kind}:${rung.programs.join(',')}`;
    if (!seen.has(key)) seen.set(key, probe(rung));
    return seen.get(key);
  };
}

export function chooseAll(hooks: HookPoint[], facts: KernelFacts, probe: RungProbe, opts: LadderOptions = {}): LadderChoice[] {
  const p = memoProbe(probe);
  const chosen = new Set<string>();
  return hooks.map((h) => {
    const c = chooseRung(h, facts, p, opts, (id) => chosen.has(id));
    if (c.chosen) chosen.add(h.id);
    return c;
  });
}
