// The hot-spot report as NDJSON (schema: docs/hotspots.md): one summary record, then one
// record per edge in rank order, per slow flow and per drop place, so `jq 'select(.type ==
// "edge")'` reads it line by line.
import type { HotspotReport } from './rank.js';

export function hotspotRecords(r: HotspotReport): object[] {
  const out: object[] = [{ type: 'hotspots', flows: r.flows, edges: r.edges.length, measured_ns: r.measured_ns, drops: r.drops.reduce((t, d) => t + d.count, 0) }];
  for (const e of r.edges) {
    const { latency, ...rest } = e;
    out.push({
      type: 'edge',
      rank: rest.rank,
      key: rest.key,
      from: rest.from,
      to: rest.to,
      from_node: rest.from_node,
      to_node: rest.to_node,
      crosses_nodes: rest.crosses_nodes,
      directions: rest.directions,
      ...latency,
      unmeasured: rest.unmeasured,
      share: rest.share,
      mean_added_ns: Math.round(rest.mean_added_ns),
      histogram: rest.histogram,
    });
  }
  r.slowest.forEach((s, i) => out.push({ type: 'slow_flow', rank: i + 1, path_ns: s.path_ns, partial: s.partial, slowest_edge: s.slowest_edge, flow: s.flow }));
  for (const d of r.drops) out.push({ type: 'drop', ...d });
  return out;
}

export function hotspotNdjson(r: HotspotReport): string {
  return hotspotRecords(r).map((o) => JSON.stringify(o)).join('\n') + '\n';
}
