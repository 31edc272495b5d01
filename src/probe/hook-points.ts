// Every hook point mesh-trace knows, what it observes, and its rungs best first
// (ARCHITECTURE.md, "Hooks and the attach ladder"). A rung without programs is a way of
// seeing the same thing through other hooks: always available, never attached.
import type { KernelFacts } from './capabilities.js';

export type RungKind = 'tcx' | 'clsact' | 'tp_btf' | 'netfilter' | 'fentry' | 'kprobe' | 'derived';

export interface Rung {
  kind: RungKind;
  /** BPF programs this rung loads (names in bpf/) */
  programs: string[];
  /**
   * The same programs built without kfuncs (bpf/probe_hooks.bpf.c, reads through
   * bpf_probe_read_kernel), tried when `programs` do not load: kernels before 6.3 lack
   * bpf_cast_to_kern_ctx and bpf_rdonly_cast. Not first, since lockdown forbids them.
   */
  withoutKfuncs?: string[];
  /** set on a chosen rung: 'probe' when its kfunc-free twin was the one that loaded */
  reads?: 'btf' | 'probe';
  /** how the probe attaches to prove the rung works */
  probe: 'tcx' | 'clsact' | 'netfilter' | 'auto' | 'none';
  /** a reason to skip the rung without trying (undefined = try it) */
  precondition?: (facts: KernelFacts) => string | undefined;
  /** for 'derived': what stands in for the hook */
  via?: string;
  /**
   * for 'derived': stands only when this other hook point got a rung, since that rung sees
   * the same frames (tc on a device and the tracepoint of the same device)
   */
  coveredBy?: string;
}

export interface HookPoint {
  id: string;
  observes: string;
  /** tcx/clsact hooks attach per device in every namespace; netfilter per namespace */
  scope: 'device' | 'netns' | 'host';
  rungs: Rung[];
}

const needsIpvs = (f: KernelFacts) =>
  f.ipvsLoaded ? undefined : 'the ip_vs module is not loaded (no IPVS on this host: nothing to trace)';

/** a kernel function: fentry, then kprobe, then what the device hooks show of it */
function fnRungs(fn: string, fallback: string): Rung[] {
  return [
    { kind: 'fentry', programs: [`mt_fentry_${fn}`], probe: 'auto' },
    { kind: 'kprobe', programs: [`mt_kprobe_${fn}`], probe: 'auto' },
    { kind: 'derived', programs: [], probe: 'none', via: fallback },
  ];
}

export const HOOK_POINTS: HookPoint[] = [
  {
    id: 'device-ingress',
    observes: 'frames entering each veth, bridge, vxlan and physical device, in every namespace',
    scope: 'device',
    rungs: [
      { kind: 'tcx', programs: ['mt_tc_ingress'], withoutKfuncs: ['mt_tc_ingress_pr'], probe: 'tcx' },
      { kind: 'clsact', programs: ['mt_tc_ingress'], withoutKfuncs: ['mt_tc_ingress_pr'], probe: 'clsact' },
    ],
  },
  {
    id: 'device-egress',
    observes: 'frames leaving each device, before its qdisc',
    scope: 'device',
    rungs: [
      { kind: 'tcx', programs: ['mt_tc_egress'], withoutKfuncs: ['mt_tc_egress_pr'], probe: 'tcx' },
      { kind: 'clsact', programs: ['mt_tc_egress'], withoutKfuncs: ['mt_tc_egress_pr'], probe: 'clsact' },
    ],
  },
  // Each of these two fires for the same frame at the same device as tc does, a few
  // instructions apart; every program a packet runs costs it 3–5 % here (bench/veth.js,
  // the floor), so where tc has a rung the tracepoint is left out. What that gives up: the
  // time a frame waits in an egress qdisc is counted in the hop before instead of between
  // two events of the device, loopback (no tc) is seen at netfilter and at the frame's end
  // only, and frames that bypass tc (AF_PACKET injection) are not seen at the device.
  // `--rung device-xmit=tp_btf` brings the tracepoint back.
  {
    id: 'device-xmit',
    observes: 'the driver taking a frame (net_dev_start_xmit), host-wide',
    scope: 'host',
    rungs: [
      { kind: 'derived', programs: [], probe: 'none', via: 'tc egress on the same device, just before the qdisc', coveredBy: 'device-egress' },
      { kind: 'tp_btf', programs: ['mt_tp_xmit'], withoutKfuncs: ['mt_tp_xmit_pr'], probe: 'auto' },
    ],
  },
  {
    id: 'device-recv',
    observes: 'the stack taking a frame from a device (netif_receive_skb), host-wide',
    scope: 'host',
    rungs: [
      { kind: 'derived', programs: [], probe: 'none', via: 'tc ingress on the same device, just after', coveredBy: 'device-ingress' },
      { kind: 'tp_btf', programs: ['mt_tp_recv'], withoutKfuncs: ['mt_tp_recv_pr'], probe: 'auto' },
    ],
  },
  {
    id: 'drop',
    observes: 'packets freed as dropped, with the kernel\'s drop reason (kfree_skb)',
    scope: 'host',
    rungs: [{ kind: 'tp_btf', programs: ['mt_tp_drop'], withoutKfuncs: ['mt_tp_drop_pr'], probe: 'auto' }],
  },
  {
    id: 'consume',
    observes: 'packets freed after delivery: the end of a journey (consume_skb)',
    scope: 'host',
    rungs: [{ kind: 'tp_btf', programs: ['mt_tp_consume'], withoutKfuncs: ['mt_tp_consume_pr'], probe: 'auto' }],
  },
  {
    id: 'nat',
    observes: 'DNAT, REDIRECT, SNAT, MASQUERADE and MARK: the packet just before and after the mangle/NAT priorities',
    scope: 'netns',
    rungs: [
      { kind: 'netfilter', programs: ['mt_nf_before', 'mt_nf_after'], probe: 'netfilter' },
      { kind: 'derived', programs: [], probe: 'none', via: 'header changes between two device hooks of the same skb' },
    ],
  },
  { id: 'veth-xmit', observes: 'a veth handing a frame to its peer (veth_xmit)', scope: 'host', rungs: fnRungs('veth_xmit', 'tc on both veth ends') },
  { id: 'bridge-in', observes: 'a bridge port receiving a frame (br_handle_frame)', scope: 'host', rungs: fnRungs('br_handle_frame', 'tc on the bridge ports') },
  { id: 'bridge-forward', observes: 'the bridge forwarding to a port (br_forward)', scope: 'host', rungs: fnRungs('br_forward', 'tc ingress on one port and egress on another') },
  { id: 'vxlan-encap', observes: 'VXLAN encapsulation (vxlan_xmit_one)', scope: 'host', rungs: fnRungs('vxlan_xmit_one', 'tc on the vxlan device and the outer packet on the underlay') },
  { id: 'vxlan-decap', observes: 'VXLAN decapsulation (vxlan_rcv)', scope: 'host', rungs: fnRungs('vxlan_rcv', 'tc on the underlay and the vxlan device') },
  {
    id: 'ipvs-schedule',
    observes: 'IPVS choosing a real server for a new connection (ip_vs_schedule)',
    scope: 'host',
    rungs: [
      { kind: 'fentry', programs: ['mt_fentry_ip_vs_schedule'], probe: 'auto', precondition: needsIpvs },
      { kind: 'kprobe', programs: ['mt_kprobe_ip_vs_schedule'], probe: 'auto', precondition: needsIpvs },
    ],
  },
  {
    id: 'ipvs-nat-xmit',
    observes: 'IPVS masquerading a packet to its real server (ip_vs_nat_xmit)',
    scope: 'host',
    rungs: [
      { kind: 'fentry', programs: ['mt_fentry_ip_vs_nat_xmit'], probe: 'auto', precondition: needsIpvs },
      { kind: 'kprobe', programs: ['mt_kprobe_ip_vs_nat_xmit'], probe: 'auto', precondition: needsIpvs },
    ],
  },
];

export function hookPoint(id: string): HookPoint | undefined {
  return HOOK_POINTS.find((h) => h.id === id);
}
