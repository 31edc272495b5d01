// Many flows → the edges that make requests slow. Every edge a flow's first packet crossed
// (each way) adds its latency to that edge's histogram; edges are ranked by the time they
// added in total, which is what they add to the end-to-end latency of the flows seen (a
// slow edge that few flows cross ranks below a moderately slow one that all cross). Pure:
// flows in, a report out, so live tracing and a recording give the same ranking.
import type { FlowRecord } from '../correlate/model.js';
import { flowEdges, type EdgeSample } from './edges.js';
import { LatencyHistogram, type HistogramBin, type LatencySummary } from './histogram.js';

export interface EdgeReport {
  /** 1 = the edge that added the most time */
  rank: number;
  key: string;
  from: string;
  to: string;
  from_node: string;
  to_node: string;
  /** the two ends are on different nodes (the VXLAN underlay, the client's link) */
  crosses_nodes: boolean;
  /** flows whose first packet crossed it, per direction */
  directions: { forward: number; reply: number };
  /** measured latencies (count is how many) */
  latency: LatencySummary;
  /** crossings with no latency: the two ends were seen on different clocks */
  unmeasured: number;
  /** this edge's part of all the time measured on every edge, 0..1 */
  share: number;
  /** time added per flow, averaged over every flow aggregated */
  mean_added_ns: number;
  histogram: HistogramBin[];
}

export interface SlowFlow {
  flow: FlowRecord;
  /** the measured edge latencies of both paths added up */
  path_ns: number;
  /** some edge of the flow had no latency (different clocks): path_ns is a lower bound */
  partial: boolean;
  /** the edge of this flow that took longest */
  slowest_edge: { key: string; latency_ns: number } | null;
}

export interface DropReport {
  direction: 'forward' | 'reply';
  where: string;
  reason: string;
  /** packets that died there for that reason */
  count: number;
  /** flows that lost at least one packet there */
  flows: number;
}

export interface HotspotReport {
  /** flows aggregated */
  flows: number;
  /** the sum of every measured edge latency, ns */
  measured_ns: number;
  edges: EdgeReport[];
  slowest: SlowFlow[];
  drops: DropReport[];
}

interface EdgeAcc {
  first: EdgeSample;
  hist: LatencyHistogram;
  directions: { forward: number; reply: number };
  unmeasured: number;
}

export class HotspotAggregator {
  private readonly edges = new Map<string, EdgeAcc>();
  private readonly drops = new Map<string, DropReport>();
  private readonly slowest: SlowFlow[] = [];
  private flows = 0;

  constructor(private readonly keepSlowest = 10) {}

  add(f: FlowRecord): void {
    this.flows++;
    let pathNs = 0;
    let partial = false;
    let slowestEdge: SlowFlow['slowest_edge'] = null;
    for (const s of flowEdges(f)) {
      let acc = this.edges.get(s.key);
      if (!acc) this.edges.set(s.key, (acc = { first: s, hist: new LatencyHistogram(), directions: { forward: 0, reply: 0 }, unmeasured: 0 }));
      acc.directions[s.direction]++;
      if (s.latency_ns === null) {
        acc.unmeasured++;
        partial = true;
        continue;
      }
      acc.hist.record(s.latency_ns);
      pathNs += s.latency_ns;
      if (!slowestEdge || s.latency_ns > slowestEdge.latency_ns) slowestEdge = { key: s.key, latency_ns: s.latency_ns };
    }
    for (const d of f.drops) {
      const k = `${d.direction}|${d.where}|${d.reason}`;
      const r = this.drops.get(k) ?? { direction: d.direction, where: d.where, reason: d.reason, count: 0, flows: 0 };
      r.count += d.count;
      r.flows++;
      this.drops.set(k, r);
    }
    this.keep({ flow: f, path_ns: pathNs, partial, slowest_edge: slowestEdge });
  }

  /** the N slowest flows so far, slowest first (N is small: insertion into a sorted array) */
  private keep(s: SlowFlow): void {
    if (this.keepSlowest <= 0) return;
    const list = this.slowest;
    if (list.length >= this.keepSlowest && s.path_ns <= list[list.length - 1].path_ns) return;
    let i = list.length;
    while (i > 0 && list[i - 1].path_ns < s.path_ns) i--;
    list.splice(i, 0, s);
    if (list.length > this.keepSlowest) list.pop();
  }

  report(): HotspotReport {
    const edges = [...this.edges.values()].map((a) => ({ a, s: a.hist.summary() }));
    const measured = edges.reduce((t, e) => t + e.s.sum_ns, 0);
    // most time added first; among equals the worse tail; then a stable order by name
    edges.sort((x, y) => y.s.sum_ns - x.s.sum_ns || y.s.p99_ns - x.s.p99_ns || (x.a.first.key < y.a.first.key ? -1 : 1));
    return {
      flows: this.flows,
      measured_ns: measured,
      edges: edges.map(({ a, s }, i) => ({
        rank: i + 1,
        key: a.first.key,
        from: a.first.from,
        to: a.first.to,
        from_node: a.first.fromNode,
        to_node: a.first.toNode,
        crosses_nodes: a.first.fromNode !== a.first.toNode,
        directions: { ...a.directions },
        latency: s,
        unmeasured: a.unmeasured,
        share: measured ? s.sum_ns / measured : 0,
        mean_added_ns: this.flows ? s.sum_ns / this.flows : 0,
        histogram: a.hist.histogram(),
      })),
      slowest: [...this.slowest],
      drops: [...this.drops.values()].sort((x, y) => y.count - x.count || (x.where < y.where ? -1 : 1)),
    };
  }
}

/** Aggregates a whole flow source. */
export async function aggregateFlows(flows: AsyncIterable<FlowRecord> | Iterable<FlowRecord>, keepSlowest = 10): Promise<HotspotReport> {
  const agg = new HotspotAggregator(keepSlowest);
  for await (const f of flows) agg.add(f);
  return agg.report();
}
