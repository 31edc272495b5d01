// How many BPF links a session holds, derived from the rungs it chose: the kernels differ
// (6.18 here: tracepoints, netfilter and tcx; Debian 6.12 adds fentry; 6.1 has no netfilter
// links and no tcx), and the lifecycle test must count what this kernel should have.
import { hookPoint } from '../../../src/probe/hook-points.js';
import { NETFILTER_LINKS_PER_NETNS } from '../../../src/probe/session.js';

export interface LinkExpectation {
  /** links bpftool lists (tracing, netfilter, tcx) */
  links: number;
  /** legacy clsact filters tc lists */
  filters: number;
}

/** `namespacesWithRules`: netfilter links go only into namespaces where netfilter has rules */
export function expectedLinks(rungs: Record<string, string>, namespacesWithRules: number, devices: number): LinkExpectation {
  let links = 0;
  for (const [hook, kind] of Object.entries(rungs)) {
    if (!['tp_btf', 'fentry', 'kprobe'].includes(kind)) continue;
    links += hookPoint(hook)!.rungs.find((r) => r.kind === kind)!.programs.length;
  }
  if (rungs.nat === 'netfilter') links += namespacesWithRules * NETFILTER_LINKS_PER_NETNS;
  const tc = rungs['device-ingress'];
  if (tc === 'tcx') links += devices * 2;
  return { links, filters: tc === 'clsact' ? devices * 2 : 0 };
}
