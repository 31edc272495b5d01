// Which namespaces get netfilter links. Each link is one more program run for every packet
// that crosses its hook in that namespace (seven for a packet through a namespace, the
// largest share of the tracer's per-packet cost), and a namespace where netfilter holds no
// rules cannot rewrite, mark or drop anything at those hooks: its links would only repeat
// what the device hooks already show. So links go where netfilter has something to do: an
// nftables table (iptables-nft's tables are nftables tables), a legacy iptables table, or
// IPVS services; and where a bridge's frames cross netfilter (br_netfilter, which every
// Docker host loads) while no fentry/kprobe hook sees the bridge: there the links are
// what shows the bridge as a hop. Asked inside the namespace, through nsenter with an
// argument array.
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

export interface PresenceOptions {
  /** look for IPVS services (the ip_vs module is loaded) */
  ipvs?: boolean;
  /** the namespace has a bridge that only netfilter links would show as a hop */
  bridge?: boolean;
}

export async function netfilterPresence(ref: NetnsRef, opts: PresenceOptions = {}): Promise<NetfilterPresence> {
  const nsPath = ref.source === 'host' ? undefined : ref.path;
  const [tables, legacy, ipvs, bridged] = await Promise.all([
    runIn(nsPath, ['nft', 'list', 'tables'], { allowFailure: true, timeoutMs: 10_000 }),
    // a table file is missing when its module is not loaded: cat still prints the others
    runIn(nsPath, ['cat', '/proc/net/ip_tables_names', '/proc/net/ip6_tables_names'], { allowFailure: true, timeoutMs: 10_000 }),
    opts.ipvs ? runIn(nsPath, ['cat', '/proc/net/ip_vs'], { allowFailure: true, timeoutMs: 10_000 }) : Promise.resolve(undefined),
    // per namespace since 5.3; missing without br_netfilter
    opts.bridge
      ? runIn(nsPath, ['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables', '/proc/sys/net/bridge/bridge-nf-call-ip6tables'], { allowFailure: true, timeoutMs: 10_000 })
      : Promise.resolve(undefined),
  ]);
  // Not knowing is not "nothing there": attach as if rules existed.
  if (tables.code !== 0) return { inUse: true, why: `nft list tables failed (${tables.stderr.trim().split('\n').pop() || `exit ${tables.code}`})` };
  const nft = tables.stdout.split('\n').filter((l) => l.startsWith('table '));
  if (nft.length) return { inUse: true, why: nft.join(', ') };
  const xt = legacy.stdout.split('\n').filter((l) => l.trim());
  if (xt.length) return { inUse: true, why: `legacy iptables tables ${xt.join(', ')}` };
  if (ipvs && ipvsServices(ipvs.stdout) > 0) return { inUse: true, why: 'IPVS services' };
  if (bridged && bridged.stdout.split('\n').some((l) => l.trim() === '1')) return { inUse: true, why: 'a bridge whose frames cross netfilter (br_netfilter)' };
  return { inUse: false, why: 'no nftables or iptables tables, no IPVS services' };
}
