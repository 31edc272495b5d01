// A flow's paths as edges of the topology: each pair of consecutive hops is one edge, named
// by the two points it joins (`node1 · host · docker_gwbridge → node1 · host · veth52d9e5c`),
// with the time the packet took between them. Hot spots are found by adding up edges, not
// hops, because a hop's latency is only meaningful as "since the previous point".
import type { FlowRecord, Hop, Path } from '../correlate/model.js';

export type Direction = 'forward' | 'reply';

/** One edge crossed by one packet. */
export interface EdgeSample {
  /** `from → to`, the edge's identity across flows */
  key: string;
  from: string;
  to: string;
  fromNode: string;
  toNode: string;
  direction: Direction;
  /** position of the edge in its path (0 = between the first and second hop) */
  index: number;
  /** null when the two hops were seen on different clocks: no latency can be given */
  latency_ns: number | null;
}

/** What a hop is, in a name that is the same for every flow that crosses it (no addresses,
 * no ports): a device (`node1 · host · eth0`), a NAT step named by what it did
 * (`node1 · ingress-sbox · MARK+DNAT`), the VXLAN ends (`… · eth0 (vxlan encap)`). */
export function hopPoint(h: Hop): string {
  const place = `${h.node} · ${h.netns}`;
  if (h.what === 'drop') return `${place}${h.device ? ` · ${h.device}` : ''} ✗ drop`;
  if (h.what === 'nat' || h.what === 'lb') {
    const kinds = [...new Set(h.changes.map((c) => c.kind))];
    return `${place} · ${kinds.length ? kinds.join('+') : h.what}`;
  }
  const tunnel = h.changes.find((c) => c.kind === 'VXLAN-encap' || c.kind === 'VXLAN-decap');
  const device = h.device ?? (h.ifindex ? `if${h.ifindex}` : undefined);
  const base = device ? `${place} · ${device}` : place;
  return tunnel ? `${base} (vxlan ${tunnel.kind === 'VXLAN-encap' ? 'encap' : 'decap'})` : base;
}

export function pathEdges(p: Path, direction: Direction): EdgeSample[] {
  const out: EdgeSample[] = [];
  for (let i = 1; i < p.hops.length; i++) {
    const a = p.hops[i - 1];
    const b = p.hops[i];
    const from = hopPoint(a);
    const to = hopPoint(b);
    // the correlator leaves latency_ns null where the two hops are on different clocks
    // (two nodes, two recordings): never subtract those timestamps here either
    out.push({ key: `${from} → ${to}`, from, to, fromNode: a.node, toNode: b.node, direction, index: i - 1, latency_ns: b.latency_ns });
  }
  return out;
}

/** Every edge the first packet of each direction crossed. */
export function flowEdges(f: FlowRecord): EdgeSample[] {
  return [...(f.forward ? pathEdges(f.forward, 'forward') : []), ...(f.reply ? pathEdges(f.reply, 'reply') : [])];
}
