// --rung HOOK=RUNG: force one rung for a hook point (the others of that hook are skipped),
// to see a hook through a given mechanism, e.g. kprobe where fentry would win.
import { MeshTraceError } from '../errors.js';
import { HOOK_POINTS, type RungKind } from '../probe/hook-points.js';

/** 'veth-xmit=kprobe' (repeatable) → { 'veth-xmit': 'kprobe' }; a bad pair is a usage error */
export function parseForcedRungs(pairs: string[] = []): Record<string, RungKind> {
  const out: Record<string, RungKind> = {};
  for (const pair of pairs) {
    const m = /^([a-z-]+)=([a-z_]+)$/.exec(pair);
    const hook = m && HOOK_POINTS.find((h) => h.id === m[1]);
    if (!m || !hook) {
      throw new MeshTraceError('USAGE', `--rung wants HOOK=RUNG with a known hook point, not "${pair}".`, {
        hint: `Hook points: ${HOOK_POINTS.map((h) => h.id).join(', ')}.`,
      });
    }
    const rung = hook.rungs.find((r) => r.kind === m[2]);
    if (!rung) {
      throw new MeshTraceError('USAGE', `${hook.id} has no rung "${m[2]}".`, { hint: `Its rungs: ${hook.rungs.map((r) => r.kind).join(', ')}.` });
    }
    out[hook.id] = rung.kind;
  }
  return out;
}

export const RUNG_OPTION_HELP = 'force a rung for a hook point, e.g. veth-xmit=kprobe (repeatable; `mesh-trace doctor` lists them)';

export function collectPairs(value: string, previous: string[]): string[] {
  return [...previous, value];
}
