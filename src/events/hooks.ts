// enum mt_hook and enum mt_dir of bpf/events.h, with the names users see.

export const Hook = {
  TC_INGRESS: 1,
  TC_EGRESS: 2,
  DEV_XMIT: 3,
  DEV_RECV: 4,
  DROP: 5,
  CONSUME: 6,
  NF: 7,
  VETH_XMIT: 8,
  BR_HANDLE: 9,
  BR_FORWARD: 10,
  VXLAN_XMIT: 11,
  VXLAN_RCV: 12,
  IPVS_SCHEDULE: 13,
  IPVS_NAT_XMIT: 14,
  /** never written by the kernel: a packet read from a pcap/pcapng file (the direction,
   * when the file tells it, is in `dir`) */
  CAPTURED: 32,
} as const;
export type HookId = (typeof Hook)[keyof typeof Hook];

export const hookName: Record<number, string> = {
  1: 'tc-ingress',
  2: 'tc-egress',
  3: 'xmit',
  4: 'recv',
  5: 'drop',
  6: 'consume',
  7: 'netfilter',
  8: 'veth-xmit',
  9: 'bridge-in',
  10: 'bridge-forward',
  11: 'vxlan-encap',
  12: 'vxlan-decap',
  13: 'ipvs-schedule',
  14: 'ipvs-nat-xmit',
  32: 'captured',
};

export const Dir = { NONE: 0, INGRESS: 1, EGRESS: 2 } as const;
export const dirName: Record<number, 'none' | 'ingress' | 'egress'> = { 0: 'none', 1: 'ingress', 2: 'egress' };

/** netfilter hook numbers (NF_INET_*) */
export const NfHook = { PRE_ROUTING: 0, LOCAL_IN: 1, FORWARD: 2, LOCAL_OUT: 3, POST_ROUTING: 4 } as const;
export const nfHookName: Record<number, string> = {
  0: 'PREROUTING',
  1: 'INPUT',
  2: 'FORWARD',
  3: 'OUTPUT',
  4: 'POSTROUTING',
};

/** For MT_HOOK_NF: aux = stage << 16 | pf << 8 | hooknum */
export function decodeNfAux(aux: number): { hooknum: number; pf: number; stage: 'before' | 'after' } {
  return { hooknum: aux & 0xff, pf: (aux >>> 8) & 0xff, stage: (aux >>> 16) & 0xff ? 'after' : 'before' };
}
