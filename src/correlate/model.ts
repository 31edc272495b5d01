// What the correlator produces: flows made of paths made of hops. Plain JSON-able data
// (the NDJSON records of docs/flows.md are these objects, written by report/flow-json.ts).
import type { DeviceKind } from '../topology/model.js';

export type HopWhat = 'in' | 'out' | 'through' | 'seen' | 'nat' | 'lb' | 'drop';

export type ChangeKind =
  | 'DNAT'
  | 'REDIRECT'
  | 'SNAT'
  | 'MASQUERADE'
  | 'un-DNAT'
  | 'un-SNAT'
  | 'IPVS'
  | 'MARK'
  | 'VXLAN-encap'
  | 'VXLAN-decap';

export interface Change {
  kind: ChangeKind;
  /** the field that changed: dst, src, mark, tunnel */
  field: 'dst' | 'src' | 'mark' | 'tunnel';
  from?: string;
  to?: string;
  vni?: number;
  /** the rule (or IPVS service) that made the change, as iptables-save / ipvsadm print it */
  rule?: string;
}

export interface HopHeaders {
  proto: string;
  src: string;
  dst: string;
  /** TCP flags as tcpdump prints them (S, S., P., F., R) */
  flags?: string;
  seq?: number;
  ack?: number;
  ip_id: number;
  len: number;
  mark?: number;
}

export interface Hop {
  node: string;
  netns: string;
  netns_inode: number;
  device?: string;
  ifindex?: number;
  kind?: DeviceKind;
  network?: string;
  /** `node1 · ingress-sbox · eth1 (docker_gwbridge)` */
  where: string;
  what: HopWhat;
  /** the probes that saw it here, in order: tc-ingress, recv, netfilter PREROUTING, ... */
  hooks: string[];
  /** CLOCK_MONOTONIC ns of the first event at this hop, on this node's clock */
  t_ns: number;
  /** since the previous hop; null for the first hop or when the two hops are on different clocks */
  latency_ns: number | null;
  headers?: HopHeaders;
  vxlan?: { vni: number; src: string; dst: string };
  changes: Change[];
  drop_reason?: string;
}

export type PathEnd = 'delivered' | 'left' | 'dropped' | 'open';

export interface Path {
  /** the packet this path follows (the first of its direction) */
  packet: HopHeaders;
  hops: Hop[];
  end: PathEnd;
  /** first hop to last, when they share a clock */
  total_ns: number | null;
  /** copies the kernel made of this packet (bridge flooding, taps) */
  clones: number;
}

export type FlowState = 'closed' | 'reset' | 'dropped' | 'timeout' | 'open' | 'evicted';

export interface DropSummary {
  direction: 'forward' | 'reply';
  where: string;
  reason: string;
  count: number;
}

export interface FlowRecord {
  type: 'flow';
  id: number;
  proto: string;
  client: string;
  server: string;
  state: FlowState;
  start: string;
  first_ns: number;
  last_ns: number;
  duration_ns: number;
  packets: { forward: number; reply: number };
  bytes: { forward: number; reply: number };
  forward: Path | null;
  reply: Path | null;
  drops: DropSummary[];
  /** every tuple the connection was seen with, across its rewrites */
  tuples: string[];
}
