// Which namespaces get netfilter links. Each link is one more program run for every packet
// that crosses its hook in that namespace (seven for a packet through a namespace, the
// largest share of the tracer's per-packet cost), and a namespace where netfilter holds no
// rules cannot rewrite, mark or drop anything at those hooks: its links would only repeat
// what the device hooks already show. So links go where netfilter has something to do: an
// nftables table (iptables-nft's tables are nftables tables), a legacy iptables table, or
// IPVS services. Asked inside the namespace, through nsenter with an argument array.
import { runIn } from '../topology/exec.js';
import type { NetnsRef } from '../topology/netns.js';

export interface NetfilterPresence {
  /** true: the namespace has rules or services (or we could not tell, and assume so) */
  inUse: boolean;
  /** what was found, or why we assumed so: for warnings and tests */
  why: string;
}

/** Lines of /proc/net/ip_vs that are services (after its three header lines). */
function ipvsServices(text: string): number {
  return text.split('\n').filter((l) => /^(TCP|UDP|SCTP|FWM)\s/.test(l)).length;
}

export async function netfilterPresence(ref: NetnsRef, opts: { ipvs?: boolean } = {}): Promise<NetfilterPresence> {
  const nsPath = ref.source === 'host' ? undefined : ref.path;
  const [tables, legacy, ipvs] = await Promise.all([
    runIn(nsPath, ['nft', 'list', 'tables'], { allowFailure: true, timeoutMs: 10_000 }),
    // a table file is missing when its module is not loaded: cat still prints the others
    runIn(nsPath, ['cat', '/proc/net/ip_tables_names', '/proc/net/ip6_tables_names'], { allowFailure: true, timeoutMs: 10_000 }),
    opts.ipvs ? runIn(nsPath, ['cat', '/proc/net/ip_vs'], { allowFailure: true, timeoutMs: 10_000 }) : Promise.resolve(undefined),
  ]);
  // Not knowing is not "nothing there": attach as if rules existed.
  if (tables.code !== 0) return { inUse: true, why: `nft list tables failed (${tables.stderr.trim().split('\n').pop() || `exit ${tables.code}`})` };
  const nft = tables.stdout.split('\n').filter((l) => l.startsWith('table '));
  if (nft.length) return { inUse: true, why: nft.join(', ') };
  const xt = legacy.stdout.split('\n').filter((l) => l.trim());
  if (xt.length) return { inUse: true, why: `legacy iptables tables ${xt.join(', ')}` };
  if (ipvs && ipvsServices(ipvs.stdout) > 0) return { inUse: true, why: 'IPVS services' };
  return { inUse: false, why: 'no nftables or iptables tables, no IPVS services' };
}
