// Synthetic flow records shaped like the lab's routing-mesh request (client → node1's
// DNAT → ingress-sbox → VXLAN → node2's nginx, and the SYN-ACK back), with the latency of
// every hop chosen by the test. Pure data: what the correlator would report.
import type { Change, FlowRecord, Hop, Path } from '../../../src/correlate/model.js';

export interface HopSpec {
  node: string;
  netns: string;
  device?: string;
  what: Hop['what'];
  changes?: Change[];
  drop_reason?: string;
}

export const FORWARD: HopSpec[] = [
  { node: 'lab', netns: 'client', device: 'eth0', what: 'out' },
  { node: 'node1', netns: 'host', device: 'eth1', what: 'in' },
  { node: 'node1', netns: 'host', what: 'nat', changes: [{ kind: 'DNAT', field: 'dst', from: '192.168.60.1:1080', to: '172.18.0.2:1080' }] },
  { node: 'node1', netns: 'host', device: 'docker_gwbridge', what: 'out' },
  { node: 'node1', netns: 'ingress-sbox', device: 'eth1', what: 'in' },
  {
    node: 'node1',
    netns: 'ingress-sbox',
    what: 'nat',
    changes: [
      { kind: 'MARK', field: 'mark', from: '0x0', to: '0x100' },
      { kind: 'DNAT', field: 'dst', from: '172.18.0.2:1080', to: '10.255.0.5:80' },
    ],
  },
  { node: 'node1', netns: 'ingress-sbox', device: 'eth0', what: 'out' },
  { node: 'node1', netns: '1-ingress', device: 'vxlan0', what: 'out' },
  { node: 'node1', netns: 'host', device: 'eth0', what: 'out', changes: [{ kind: 'VXLAN-encap', field: 'tunnel', vni: 4096, from: '192.168.50.1:50000', to: '192.168.50.2:4789' }] },
  { node: 'node2', netns: 'host', device: 'eth0', what: 'in' },
  { node: 'node2', netns: '1-ingress', device: 'vxlan0', what: 'in', changes: [{ kind: 'VXLAN-decap', field: 'tunnel', vni: 4096 }] },
  { node: 'node2', netns: 'nginx.1', device: 'eth2', what: 'in' },
];

export const REPLY: HopSpec[] = [
  { node: 'node2', netns: 'nginx.1', device: 'eth2', what: 'out' },
  { node: 'node2', netns: 'host', device: 'eth0', what: 'out' },
  { node: 'node1', netns: 'host', device: 'eth0', what: 'in' },
  { node: 'node1', netns: 'ingress-sbox', device: 'eth1', what: 'out' },
  { node: 'lab', netns: 'client', device: 'eth0', what: 'in' },
];

const INODES: Record<string, number> = { client: 10, host: 20, 'ingress-sbox': 30, '1-ingress': 40, 'nginx.1': 50 };

/** latencies[i] is the time from hop i-1 to hop i (null: another clock); index 0 is ignored */
export function path(specs: HopSpec[], t0: number, latencies: (number | null)[], src = '192.168.60.100:40000', dst = '192.168.60.1:1080'): Path {
  let t = t0;
  const hops: Hop[] = specs.map((s, i) => {
    const lat = i === 0 ? null : latencies[i] === undefined ? 1000 : latencies[i];
    t += lat ?? 5_000_000; // another clock: any time, never subtracted
    return {
      node: s.node,
      netns: s.netns,
      netns_inode: INODES[s.netns] ?? 99,
      ...(s.device ? { device: s.device, ifindex: 2 } : {}),
      where: [s.node, s.netns, s.device].filter(Boolean).join(' · '),
      what: s.what,
      hooks: [],
      t_ns: t,
      latency_ns: lat,
      changes: s.changes ?? [],
      ...(s.drop_reason ? { drop_reason: s.drop_reason } : {}),
    };
  });
  const known = latencies.slice(1, specs.length);
  return {
    packet: { proto: 'TCP', src, dst, flags: 'S', ip_id: 1, len: 60 },
    hops,
    end: specs.at(-1)!.what === 'drop' ? 'dropped' : 'delivered',
    total_ns: known.some((l) => l === null) ? null : hops.at(-1)!.t_ns - hops[0].t_ns,
    clones: 0,
  };
}

export function flow(id: number, forward: Path | null, reply: Path | null, drops: FlowRecord['drops'] = []): FlowRecord {
  const first = (forward ?? reply)!.hops[0].t_ns;
  return {
    type: 'flow',
    id,
    proto: 'TCP',
    client: `192.168.60.100:${40000 + id}`,
    server: '192.168.60.1:1080',
    state: drops.length ? 'dropped' : 'closed',
    start: new Date(1_700_000_000_000 + id).toISOString(),
    first_ns: first,
    last_ns: first + 1_000_000,
    duration_ns: 1_000_000,
    packets: { forward: 1, reply: reply ? 1 : 0 },
    bytes: { forward: 60, reply: reply ? 60 : 0 },
    forward,
    reply,
    drops,
    tuples: [`TCP 192.168.60.100:${40000 + id} > 192.168.60.1:1080`, `TCP 192.168.60.100:${40000 + id} > 172.18.0.2:1080`],
  };
}

/** the i-th of a stream of requests: every hop `base` ns, the hop at index `slowAt` of the
 * forward path `slowNs` more */
export function request(i: number, base = 10_000, slowAt = -1, slowNs = 0): FlowRecord {
  const fwd = FORWARD.map((_, k) => (k === slowAt ? base + slowNs : base + ((i * 7 + k) % 5) * 100));
  const rep = REPLY.map(() => base);
  return flow(i, path(FORWARD, i * 1e9, fwd), path(REPLY, i * 1e9 + 1e6, rep, '10.255.0.5:80', '10.255.0.2:40000'));
}
