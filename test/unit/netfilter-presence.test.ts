// Which namespaces get netfilter links: only where netfilter could rewrite, mark or drop,
// or where its links are all that shows a bridge.
import { describe, expect, it } from 'vitest';
import { netfilterPresence } from '../../src/probe/netfilter-presence.js';

const none = { nftTables: 0, legacyTables: [], ipvsServices: 0, bridgeNfCall: false };

describe('netfilter links per namespace', () => {
  it('skips a namespace where netfilter holds nothing', () => {
    expect(netfilterPresence(none)).toEqual({ inUse: false, why: 'no nftables or iptables tables, no IPVS services' });
    // br_netfilter on, but no bridge here (or one that fentry/kprobe hooks already show)
    expect(netfilterPresence({ ...none, bridgeNfCall: true }).inUse).toBe(false);
  });

  it('takes one with nftables or iptables-nft tables, legacy iptables tables or IPVS services', () => {
    expect(netfilterPresence({ ...none, nftTables: 1 }).inUse).toBe(true);
    expect(netfilterPresence({ ...none, legacyTables: ['nat'] })).toEqual({ inUse: true, why: 'legacy iptables tables nat' });
    expect(netfilterPresence({ ...none, ipvsServices: 2 }).inUse).toBe(true);
  });

  it('takes one whose bridge is seen only through br_netfilter', () => {
    expect(netfilterPresence({ ...none, bridgeNfCall: true }, { bridge: true }).inUse).toBe(true);
    expect(netfilterPresence(none, { bridge: true }).inUse).toBe(false);
  });
});
