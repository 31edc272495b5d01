// The hot-spot report as one self-contained HTML page: the graph (inline SVG), the ranked
// edges each with its histogram, the slowest flows hop by hop, and the drops. Everything is
// inline (styles, SVG, a few lines of script): the page is mailed, attached to tickets and
// opened on machines with no network, so it must never fetch anything.
import type { Hop, Path } from '../correlate/model.js';
import { changeText, durationText } from '../report/flow-text.js';
import { hopPoint } from './edges.js';
import { hotspotSvg } from './graph-svg.js';
import { heatColor, heatOf, HOTTEST } from './heat.js';
import type { EdgeReport, HotspotReport, SlowFlow } from './rank.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function histogramSvg(e: EdgeReport, color: string): string {
  const bins = e.histogram;
  const w = 180;
  const h = 40;
  if (!bins.length) return '<span class="none">no measured latency</span>';
  const max = Math.max(...bins.map((b) => b.count));
  const bw = w / bins.length;
  const bars = bins
    .map((b, i) => {
      const bh = b.count ? Math.max(1, (b.count / max) * (h - 2)) : 0;
      return `<rect class="bar" x="${(i * bw).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"><title>${esc(`${durationText(b.lo_ns)}–${durationText(b.hi_ns)}: ${b.count}`)}</title></rect>`;
    })
    .join('');
  const lo = durationText(bins[0].lo_ns);
  const hi = durationText(bins[bins.length - 1].hi_ns);
  return `<svg class="histogram" role="img" aria-label="${esc(`latency histogram of ${e.key}: ${e.latency.count} samples from ${lo} to ${hi}`)}" width="${w}" height="${h + 14}" viewBox="0 0 ${w} ${h + 14}">${bars}<line x1="0" y1="${h}" x2="${w}" y2="${h}" stroke="#999"/><text x="0" y="${h + 11}" font-size="9">${esc(lo)}</text><text x="${w}" y="${h + 11}" font-size="9" text-anchor="end">${esc(hi)}</text></svg>`;
}

function edgeRows(edges: EdgeReport[]): string {
  const hottest = Math.max(0, ...edges.map((e) => e.mean_added_ns));
  return edges
    .map((e) => {
      const color = heatColor(heatOf(e.mean_added_ns, hottest));
      const l = e.latency;
      const d = (ns: number) => (l.count ? durationText(ns) : '–');
      const note = e.unmeasured ? `<div class="note">${e.unmeasured} crossing${e.unmeasured === 1 ? '' : 's'} not measured: the two ends were seen on different clocks</div>` : '';
      return `<tr id="row-${e.rank}" data-rank="${e.rank}" class="edge-row">
<td class="num">${e.rank}</td><td><span class="swatch" style="background:${color}"></span></td>
<td class="edge-name"><span class="from">${esc(e.from)}</span> <span class="arrow">→</span> <span class="to">${esc(e.to)}</span>${e.crosses_nodes ? ' <span class="tag">across nodes</span>' : ''}${note}</td>
<td class="num">${l.count}</td><td class="num p50">${d(l.p50_ns)}</td><td class="num">${d(l.p90_ns)}</td><td class="num">${d(l.p99_ns)}</td><td class="num">${d(l.max_ns)}</td>
<td class="num">${durationText(Math.round(e.mean_added_ns))}</td><td class="num">${(e.share * 100).toFixed(1)}%</td>
<td>${histogramSvg(e, color)}</td></tr>`;
    })
    .join('\n');
}

function pathList(p: Path, arrow: string, slowestKey: string | undefined): string {
  const items = p.hops.map((h: Hop, i) => {
    const lat = i === 0 ? '' : h.latency_ns === null ? '?' : `+${durationText(h.latency_ns)}`;
    const key = i > 0 ? `${hopPoint(p.hops[i - 1])} → ${hopPoint(h)}` : '';
    const hot = key && key === slowestKey ? ' class="hot"' : '';
    const what = h.what === 'drop' ? `✗ dropped: ${h.drop_reason ?? '?'}` : [h.what === 'nat' || h.what === 'lb' ? '' : h.what, ...h.changes.map(changeText)].filter(Boolean).join('  ');
    return `<li${hot}><span class="lat">${esc(lat)}</span> <span class="where">${esc(h.what === 'nat' || h.what === 'lb' ? `${h.node} · ${h.netns}` : h.where)}</span> <span class="what">${esc(what)}</span></li>`;
  });
  const total = p.total_ns === null ? '' : ` in ${durationText(p.total_ns)}`;
  return `<div class="path"><div class="path-head">${arrow} ${esc(p.packet.flags ? `[${p.packet.flags}]` : p.packet.proto)} ${esc(`${p.packet.src} > ${p.packet.dst}`)}: ${esc(p.end)}${esc(total)}</div><ol>${items.join('')}</ol></div>`;
}

function slowFlows(list: SlowFlow[]): string {
  if (!list.length) return '<p>No flows.</p>';
  return `<ol class="slow-flows">${list
    .map((s) => {
      const f = s.flow;
      const key = s.slowest_edge?.key;
      return `<li class="slow-flow"><div class="flow-head"><b>${s.partial ? '≥ ' : ''}${esc(durationText(s.path_ns))}</b> ${esc(`${f.proto} ${f.client} → ${f.server}`)} <span class="state">${esc(f.state)}</span>${
        s.slowest_edge ? ` <span class="slowest">slowest edge: ${esc(s.slowest_edge.key)} +${esc(durationText(s.slowest_edge.latency_ns))}</span>` : ''
      }</div>${f.forward ? pathList(f.forward, '→', key) : ''}${f.reply ? pathList(f.reply, '←', key) : ''}</li>`;
    })
    .join('\n')}</ol>`;
}

function dropRows(r: HotspotReport): string {
  if (!r.drops.length) return '<p>No packet of these flows was dropped.</p>';
  return `<table class="drops"><thead><tr><th>packets</th><th>flows</th><th>direction</th><th>where</th><th>reason</th></tr></thead><tbody>${r.drops
    .map((d) => `<tr><td class="num">${d.count}</td><td class="num">${d.flows}</td><td>${d.direction}</td><td>${esc(d.where)}</td><td>${esc(d.reason)}</td></tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `
body{font:14px/1.4 system-ui,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#666}
#graph{overflow:auto;border:1px solid #ddd;border-radius:6px;padding:8px;max-height:90vh}
#graph svg{max-width:100%;height:auto}
.legend{display:flex;align-items:center;gap:8px;color:#555;font-size:12px;margin:6px 0}
.legend .scale{width:160px;height:10px;border-radius:3px;background:linear-gradient(90deg,${heatColor(0)},${heatColor(0.5)},${HOTTEST})}
table{border-collapse:collapse}th,td{padding:4px 8px;border-bottom:1px solid #eee;vertical-align:middle;text-align:left}
th{font-weight:600;color:#444;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px}
.edge-name{max-width:520px}.arrow{color:#888}.tag{font-size:11px;background:#eef;border-radius:3px;padding:0 4px}
.note,.none{font-size:11px;color:#a60}
tr.selected{background:#fff3c4}
.slow-flows>li{margin-bottom:14px}.path ol{margin:4px 0;padding-left:22px;font:12px/1.35 ui-monospace,monospace}
.path li.hot{background:#fde0dc;font-weight:600}.lat{display:inline-block;width:64px;text-align:right;color:#777}
.slowest{color:${HOTTEST}}.state{color:#666}
g.edge.selected path{stroke-width:6}
`;

// a click on a graph edge selects its table row and the other way round
const JS = `
document.querySelectorAll('g.edge').forEach(function(g){g.style.cursor='pointer';g.addEventListener('click',function(){select(g.id.replace('edge-',''),true)})});
document.querySelectorAll('tr.edge-row').forEach(function(r){r.addEventListener('click',function(){select(r.dataset.rank,false)})});
function select(rank,scroll){document.querySelectorAll('.selected').forEach(function(x){x.classList.remove('selected')});
var r=document.getElementById('row-'+rank),g=document.getElementById('edge-'+rank);if(r){r.classList.add('selected');if(scroll)r.scrollIntoView({block:'center'})}if(g)g.classList.add('selected')}
`;

export interface HtmlMeta {
  /** where the flows came from: "live on node1", "flows.ndjson" */
  source: string;
  generated: Date;
}

export async function hotspotHtml(r: HotspotReport, meta: HtmlMeta): Promise<string> {
  const svg = r.edges.length ? await hotspotSvg(r.edges) : '<p>No edges.</p>';
  const top = r.edges[0];
  const headline = top
    ? `Hottest edge: <b>${esc(top.key)}</b>, ${esc(durationText(Math.round(top.mean_added_ns)))} added per flow (${(top.share * 100).toFixed(1)}% of the measured time), p50 ${esc(durationText(top.latency.p50_ns))}`
    : 'No flows were seen.';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mesh-trace hot spots</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>${CSS}</style></head>
<body>
<h1>mesh-trace hot spots</h1>
<div class="sub">${r.flows} flow${r.flows === 1 ? '' : 's'} from ${esc(meta.source)}, ${r.edges.length} edges, ${r.drops.reduce((t, d) => t + d.count, 0)} packets dropped; generated ${esc(meta.generated.toISOString())}. Latency is the time between two consecutive hops of the first packet each way, only where both were seen on one clock.</div>
<p id="headline">${headline}</p>
<h2>Topology</h2>
<div class="legend">added per flow: <span>least</span><span class="scale"></span><span>most</span> · arrows are labelled with their median</div>
<div id="graph">${svg}</div>
<h2>Edges, ranked by the time they add</h2>
<table id="edges"><thead><tr><th>#</th><th></th><th>edge</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>added/flow</th><th>share</th><th>histogram</th></tr></thead>
<tbody>
${edgeRows(r.edges)}
</tbody></table>
<h2>Slowest flows</h2>
<div id="slowest">${slowFlows(r.slowest)}</div>
<h2>Drops</h2>
<div id="drops">${dropRows(r)}</div>
<script>${JS}</script>
</body></html>
`;
}
