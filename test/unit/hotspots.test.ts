// Hot-spot aggregation over synthetic flow records (pure: no kernel). The lab test checks
// the same ranking on real packets with a hop made slow on purpose.
import { describe, expect, it } from 'vitest';
import { flowEdges, hopPoint } from '../../src/hotspots/edges.js';
import { aggregateFlows, HotspotAggregator } from '../../src/hotspots/rank.js';
import { hotspotRecords } from '../../src/hotspots/report-json.js';
import { hotspotText } from '../../src/hotspots/report-text.js';
import { style } from '../../src/cli/style.js';
import { flow, FORWARD, path, REPLY, request } from './helpers/flows.js';

const SBOX_LB = 'node1 · ingress-sbox · eth1 → node1 · ingress-sbox · MARK+DNAT';

describe('edges of a flow', () => {
  it('names each point the same way for every flow: devices, NAT steps by what they did, the VXLAN ends', () => {
    const keys = flowEdges(request(1)).map((e) => e.key);
    expect(keys).toContain('node1 · host · eth1 → node1 · host · DNAT');
    expect(keys).toContain(SBOX_LB);
    expect(keys).toContain('node1 · 1-ingress · vxlan0 → node1 · host · eth0 (vxlan encap)');
    expect(keys).toContain('node1 · host · eth0 (vxlan encap) → node2 · host · eth0');
    expect(keys).toContain('node2 · host · eth0 → node2 · 1-ingress · vxlan0 (vxlan decap)');
    expect(keys).toHaveLength(FORWARD.length - 1 + REPLY.length - 1);
    expect(hopPoint(request(1).forward!.hops[0])).toBe('lab · client · eth0');
  });
});

describe('ranking', () => {
  it('ranks first the edge that adds the most time, with its histogram quantiles', async () => {
    const flows = Array.from({ length: 200 }, (_, i) => request(i, 10_000, 5, 2_000_000));
    const r = await aggregateFlows(flows);
    expect(r.flows).toBe(200);
    const e = r.edges[0];
    expect(e.key).toBe(SBOX_LB);
    expect(e.rank).toBe(1);
    expect(e.latency.count).toBe(200);
    // 2.01 ms each time; HdrHistogram keeps 3 significant digits, the max and the sum are exact
    expect(e.latency.p50_ns).toBeGreaterThanOrEqual(2_008_000);
    expect(e.latency.p50_ns).toBeLessThanOrEqual(2_010_000);
    expect(e.latency.max_ns).toBe(2_010_000);
    expect(e.mean_added_ns).toBe(2_010_000);
    expect(e.share).toBeGreaterThan(0.8);
    expect(e.histogram.reduce((t, b) => t + b.count, 0)).toBe(200);
    expect(e.crosses_nodes).toBe(false);
    expect(r.edges.map((x) => x.rank)).toEqual(r.edges.map((_, i) => i + 1));
  });

  it('without the slow hop, that edge does not stand out', async () => {
    const r = await aggregateFlows(Array.from({ length: 200 }, (_, i) => request(i)));
    const e = r.edges.find((x) => x.key === SBOX_LB)!;
    expect(e.latency.p50_ns).toBeLessThan(11_000);
    expect(e.share).toBeLessThan(0.1);
  });

  it('gives the same ranking whatever order the flows come in', async () => {
    const flows = Array.from({ length: 50 }, (_, i) => request(i, 10_000, i % 3 === 0 ? 3 : 7, 50_000));
    const a = await aggregateFlows(flows);
    const b = await aggregateFlows([...flows].reverse());
    expect(b.edges.map((e) => [e.key, e.latency])).toEqual(a.edges.map((e) => [e.key, e.latency]));
  });

  it('never measures an edge whose ends are on different clocks, and says so', async () => {
    const lat = FORWARD.map(() => 10_000 as number | null);
    lat[9] = null; // node1's encapsulation → node2's underlay: two clocks
    const f = flow(1, path(FORWARD, 0, lat), null);
    const r = await aggregateFlows([f]);
    const e = r.edges.find((x) => x.key === 'node1 · host · eth0 (vxlan encap) → node2 · host · eth0')!;
    expect(e).toMatchObject({ crosses_nodes: true, unmeasured: 1 });
    expect(e.latency.count).toBe(0);
    expect(e.histogram).toEqual([]);
    expect(r.slowest[0]).toMatchObject({ partial: true, path_ns: 10_000 * (FORWARD.length - 2) });
    const text = hotspotText(r, style(false), (ns) => ns, { top: 50, slowest: 1 });
    expect(text).toContain('(1 not measured: the ends are on different clocks)');
    expect(text).toContain('≥ ');
  });

  it('keeps the slowest flows, slowest first, with the edge that made each slow', async () => {
    const agg = new HotspotAggregator(3);
    for (let i = 0; i < 20; i++) agg.add(request(i, 10_000, 8, i === 7 ? 5_000_000 : i === 12 ? 3_000_000 : 0));
    const r = agg.report();
    expect(r.slowest.map((s) => s.flow.id)).toEqual([7, 12, expect.any(Number)]);
    expect(r.slowest[0].slowest_edge).toEqual({ key: 'node1 · 1-ingress · vxlan0 → node1 · host · eth0 (vxlan encap)', latency_ns: 5_010_000 });
  });

  it('counts drops per place and reason', async () => {
    const dropAt = [...FORWARD.slice(0, 5), { node: 'node1', netns: 'ingress-sbox', what: 'drop' as const, drop_reason: 'NETFILTER_DROP' }];
    const where = 'node1 · ingress-sbox';
    const flows = [1, 2, 3].map((i) => flow(i, path(dropAt, 0, []), null, [{ direction: 'forward', where, reason: 'NETFILTER_DROP', count: 2 }]));
    const r = await aggregateFlows([...flows, request(4)]);
    expect(r.drops).toEqual([{ direction: 'forward', where, reason: 'NETFILTER_DROP', count: 6, flows: 3 }]);
    expect(r.edges.some((e) => e.to === 'node1 · ingress-sbox ✗ drop')).toBe(true);
    expect(hotspotText(r, style(false), (ns) => ns, { top: 5, slowest: 0 })).toContain('6 forward packets (3 flows) dropped at node1 · ingress-sbox: NETFILTER_DROP');
  });
});

describe('NDJSON records', () => {
  it('a summary, then edges in rank order, slow flows and drops', async () => {
    const r = await aggregateFlows(Array.from({ length: 5 }, (_, i) => request(i, 10_000, 5, 1_000_000)));
    const recs = hotspotRecords(r) as { type: string; rank?: number; key?: string }[];
    expect(recs[0]).toMatchObject({ type: 'hotspots', flows: 5, edges: r.edges.length, drops: 0 });
    const edges = recs.filter((x) => x.type === 'edge');
    expect(edges.map((e) => e.rank)).toEqual(r.edges.map((e) => e.rank));
    expect(edges[0]).toMatchObject({ key: SBOX_LB, count: 5 });
    expect(recs.filter((x) => x.type === 'slow_flow')).toHaveLength(5);
  });
});
