// A flow as a person reads it: the first packet each way as a path of hops, the time from
// the previous hop on the left, every rewrite and where the packet died, like the diagrams
// engineers draw by hand.
import type { Style } from '../cli/style.js';
import type { Change, FlowRecord, Hop, Path } from '../correlate/model.js';
import { timeText } from './event-line.js';

export function durationText(ns: number): string {
  if (ns < 1_000) return `${ns}ns`;
  if (ns < 10_000) return `${(ns / 1_000).toFixed(1)}µs`;
  if (ns < 1_000_000) return `${Math.round(ns / 1_000)}µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)}ms`;
  return `${(ns / 1e9).toFixed(2)}s`;
}

function bytesText(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function changeText(c: Change): string {
  switch (c.kind) {
    case 'VXLAN-encap':
      return `VXLAN encap vni ${c.vni} ${c.from} → ${c.to}`;
    case 'VXLAN-decap':
      return `VXLAN decap vni ${c.vni}`;
    case 'MARK':
      return `MARK ${c.to}`;
    default:
      return `${c.kind} ${c.from} → ${c.to}`;
  }
}

function hopPlace(h: Hop): string {
  return h.what === 'nat' || h.what === 'lb' ? `${h.node} · ${h.netns}` : h.where;
}

function hopWhat(h: Hop, s: Style): string {
  if (h.what === 'drop') return s.red(`✗ dropped: ${h.drop_reason ?? 'unknown reason'}`);
  const parts: string[] = [];
  if (h.what !== 'nat' && h.what !== 'lb') parts.push(h.what);
  for (const c of h.changes) parts.push(s.yellow(changeText(c)) + (c.rule ? s.dim(`  [${c.rule}]`) : ''));
  // still inside the tunnel (the other node's underlay, or a capture of the underlay)
  if (h.vxlan && !h.changes.some((c) => c.kind === 'VXLAN-encap' || c.kind === 'VXLAN-decap')) parts.push(s.dim(`VXLAN vni ${h.vxlan.vni} ${h.vxlan.src} → ${h.vxlan.dst}`));
  return parts.join('  ');
}

const PACKET_NAMES: Record<string, string> = { S: 'SYN', 'S.': 'SYN-ACK', '.': 'ACK', 'P.': 'data', 'F.': 'FIN', R: 'RST', 'R.': 'RST' };

function pathText(arrow: string, p: Path, s: Style): string[] {
  const pk = p.packet;
  const name = pk.flags ? (PACKET_NAMES[pk.flags] ?? `[${pk.flags}]`) : pk.proto;
  const lines = [`  ${s.bold(arrow)} ${name}  ${pk.src} > ${pk.dst}`];
  const width = Math.max(...p.hops.map((h) => hopPlace(h).length), 0);
  for (const h of p.hops) {
    const lat = h.latency_ns === null ? (h === p.hops[0] ? '' : '?') : `+${durationText(h.latency_ns)}`;
    lines.push(`    ${s.dim(lat.padStart(9))}  ${s.cyan(hopPlace(h).padEnd(width))}  ${hopWhat(h, s)}`);
  }
  const total = p.total_ns === null ? '' : ` in ${durationText(p.total_ns)}`;
  // 'open': no free was seen (TCP frees many packets without the tracepoint): say what is known
  const end = p.end === 'dropped' ? s.red('dropped') : p.end === 'open' ? 'last seen here' : p.end === 'left' ? 'left the node' : s.green('delivered');
  lines.push(`    ${''.padStart(9)}  ${end}${total}${p.clones ? s.dim(`  (${p.clones} clone${p.clones > 1 ? 's' : ''})`) : ''}`);
  return lines;
}

export function flowText(f: FlowRecord, s: Style, wallNs: (monoNs: number) => number): string {
  const state = f.state === 'dropped' || f.state === 'reset' ? s.red(f.state) : f.state === 'closed' ? s.green(f.state) : s.yellow(f.state);
  const head = [
    s.dim(timeText(wallNs(f.first_ns))),
    s.bold(`${f.proto} ${f.client} → ${f.server}`),
    state,
    durationText(f.duration_ns),
    `→ ${f.packets.forward} pkt ${bytesText(f.bytes.forward)}`,
    `← ${f.packets.reply} pkt ${bytesText(f.bytes.reply)}`,
  ].join('  ');
  const lines = [head];
  if (f.forward) lines.push(...pathText('→', f.forward, s));
  if (f.reply) lines.push(...pathText('←', f.reply, s));
  for (const d of f.drops) lines.push(s.red(`  ✗ ${d.count} ${d.direction} packet${d.count > 1 ? 's' : ''} dropped at ${d.where}: ${d.reason}`));
  return lines.join('\n');
}
