// The hot-spot report for a terminal: the ranked edges as a table (numbers first, so the
// columns line up whatever the length of the names), then the slowest flows as paths, then
// where packets died and why.
import type { Style } from '../cli/style.js';
import { durationText, flowText } from '../report/flow-text.js';
import type { HotspotReport } from './rank.js';

export interface TextOptions {
  /** edges shown in the table */
  top: number;
  /** slowest flows printed as paths */
  slowest: number;
}

const BAR = 10;

export function hotspotText(r: HotspotReport, s: Style, wallNs: (monoNs: number) => number, o: TextOptions): string {
  const lines: string[] = [];
  if (!r.flows) return 'No flows were seen, so there is nothing to rank.\n';
  lines.push(s.bold(`Hot spots over ${r.flows} flow${r.flows === 1 ? '' : 's'}: ${r.edges.length} edges, ranked by the time each added (first packet each way)`));
  const head = ['#', 'share', '', 'added/flow', 'count', 'p50', 'p90', 'p99', 'max'];
  const rows = r.edges.slice(0, o.top).map((e) => {
    const l = e.latency;
    const bar = '█'.repeat(Math.round(e.share * BAR)).padEnd(BAR, '·');
    return [
      String(e.rank),
      `${(e.share * 100).toFixed(1)}%`,
      bar,
      durationText(Math.round(e.mean_added_ns)),
      String(l.count),
      l.count ? durationText(l.p50_ns) : '-',
      l.count ? durationText(l.p90_ns) : '-',
      l.count ? durationText(l.p99_ns) : '-',
      l.count ? durationText(l.max_ns) : '-',
      // an edge between nodes is only measured when both ends share a clock
      `${e.key}${e.unmeasured ? s.dim(`  (${e.unmeasured} not measured: the ends are on different clocks)`) : ''}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < head.length ? (i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])) : c)).join('  ');
  lines.push(s.dim(fmt([...head, 'edge'])));
  rows.forEach((row, i) => {
    const text = fmt(row);
    lines.push(i === 0 ? s.red(text) : text);
  });
  if (r.edges.length > o.top) lines.push(s.dim(`  … ${r.edges.length - o.top} more edges (--top N, or --json for all)`));

  if (o.slowest > 0 && r.slowest.length) {
    lines.push('', s.bold(`Slowest flows (of ${r.flows}), by the time measured on their paths`));
    for (const sf of r.slowest.slice(0, o.slowest)) {
      const where = sf.slowest_edge ? `  slowest edge ${sf.slowest_edge.key} +${durationText(sf.slowest_edge.latency_ns)}` : '';
      lines.push(s.yellow(`${sf.partial ? '≥ ' : ''}${durationText(sf.path_ns)} on the paths${where}`));
      lines.push(flowText(sf.flow, s, wallNs));
    }
  }

  lines.push('', s.bold('Drops'));
  if (!r.drops.length) lines.push('  none');
  for (const d of r.drops) {
    lines.push(s.red(`  ${d.count} ${d.direction} packet${d.count === 1 ? '' : 's'} (${d.flows} flow${d.flows === 1 ? '' : 's'}) dropped at ${d.where}: ${d.reason}`));
  }
  return lines.join('\n') + '\n';
}
