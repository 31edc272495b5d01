// Which namespaces get netfilter links. Each link is one more program run for every packet
// that crosses its hook in that namespace (seven for a packet through a namespace, the
// largest share of the tracer's per-packet cost), and a namespace where netfilter holds no
// rules cannot rewrite, mark or drop anything at those hooks: its links would only repeat
// what the device hooks already show. So links go where netfilter has something to do: an
// nftables table (iptables-nft's tables are nftables tables), a legacy iptables table, or
// IPVS services; and where a bridge's frames cross netfilter (br_netfilter, which every
// Docker host loads) while no fentry/kprobe hook sees the bridge: there the links are
// what shows the bridge as a hop. The facts come from the addon, read inside the namespace.
import type { NativeNetfilterState } from './native.js';

export interface NetfilterPresence {
  /** true: the namespace has rules or services (or we could not tell, and assume so) */
  inUse: boolean;
  /** what was found, or why we assumed so */
  why: string;
}

/** `bridge`: the namespace has a bridge that only netfilter links would show as a hop */
export function netfilterPresence(state: NativeNetfilterState, opts: { bridge?: boolean } = {}): NetfilterPresence {
  if (state.nftTables > 0) return { inUse: true, why: `${state.nftTables} nftables table(s)` };
  if (state.legacyTables.length) return { inUse: true, why: `legacy iptables tables ${state.legacyTables.join(', ')}` };
  if (state.ipvsServices > 0) return { inUse: true, why: 'IPVS services' };
  if (opts.bridge && state.bridgeNfCall) return { inUse: true, why: 'a bridge whose frames cross netfilter (br_netfilter)' };
  return { inUse: false, why: 'no nftables or iptables tables, no IPVS services' };
}
