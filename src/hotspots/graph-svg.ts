// The topology the flows crossed, drawn as a graph: each point (device, NAT step, VXLAN end)
// a box inside its namespace inside its node, each edge an arrow coloured by its heat and
// labelled with its median. Laid out by Graphviz compiled to WebAssembly
// (@hpcc-js/wasm-graphviz), so no system Graphviz is needed and the SVG is inlined as is.
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { durationText } from '../report/flow-text.js';
import { heatColor, heatOf } from './heat.js';
import type { EdgeReport } from './rank.js';

const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** `node1 · ingress-sbox · eth1` → node, namespace, the rest */
function splitPoint(p: string): { node: string; netns: string; local: string } {
  const parts = p.split(' · ');
  if (parts.length < 2) return { node: '?', netns: '?', local: p };
  return { node: parts[0], netns: parts[1], local: parts.slice(2).join(' · ') || parts[1] };
}

export function hotspotDot(edges: EdgeReport[]): string {
  const hottest = Math.max(0, ...edges.map((e) => e.mean_added_ns));
  const ids = new Map<string, string>();
  const tree = new Map<string, Map<string, string[]>>();
  for (const e of edges) {
    for (const p of [e.from, e.to]) {
      if (ids.has(p)) continue;
      ids.set(p, `p${ids.size}`);
      const { node, netns } = splitPoint(p);
      if (!tree.has(node)) tree.set(node, new Map());
      const nss = tree.get(node)!;
      if (!nss.has(netns)) nss.set(netns, []);
      nss.get(netns)!.push(p);
    }
  }
  const lines = [
    'digraph hotspots {',
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35, bgcolor="transparent"];',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#888888", fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
  ];
  let c = 0;
  for (const [node, nss] of tree) {
    lines.push(`  subgraph cluster_${c++} { label=${q(node)}; style="rounded"; color="#555555"; fontsize=13;`);
    for (const [netns, points] of nss) {
      lines.push(`    subgraph cluster_${c++} { label=${q(netns)}; style="rounded,filled"; fillcolor="#f4f4f4"; color="#bbbbbb";`);
      for (const p of points) lines.push(`      ${ids.get(p)} [label=${q(splitPoint(p).local)}, id=${q(`point-${ids.get(p)}`)}, tooltip=${q(p)}];`);
      lines.push('    }');
    }
    lines.push('  }');
  }
  for (const e of edges) {
    const heat = heatOf(e.mean_added_ns, hottest);
    const label = e.latency.count ? durationText(e.latency.p50_ns) : 'n/a';
    lines.push(
      `  ${ids.get(e.from)} -> ${ids.get(e.to)} [id=${q(`edge-${e.rank}`)}, class="edge-rank-${e.rank}", color=${q(heatColor(heat))}, fontcolor="#333333", penwidth=${(1 + heat * 4).toFixed(2)}, label=${q(label)}, tooltip=${q(`#${e.rank} ${e.key}: p50 ${label}`)}];`,
    );
  }
  lines.push('}');
  return lines.join('\n');
}

export async function hotspotSvg(edges: EdgeReport[]): Promise<string> {
  const gv = await Graphviz.load();
  const svg = gv.dot(hotspotDot(edges), 'svg');
  // inline in HTML: drop the XML prolog and doctype
  return svg.slice(svg.indexOf('<svg'));
}
