// Flow records → pcapng: one packet per hop of each path, on an interface per (node,
// namespace, device) named as the topology names it, each packet commented with its flow,
// its hop, what changed there (with the rule) and, at the end, how the path ended.
import type { Change, FlowRecord, Hop, Path } from '../correlate/model.js';
import { packetBytes } from './synth.js';
import type { PcapngWriter } from './pcapng-writer.js';
import type { PayloadIndex } from './payloads.js';

function changeText(c: Change): string {
  if (c.kind === 'VXLAN-encap') return `VXLAN encap vni ${c.vni} ${c.from} → ${c.to}`;
  if (c.kind === 'VXLAN-decap') return `VXLAN decap vni ${c.vni}`;
  return `${c.kind} ${c.from ?? ''} → ${c.to ?? ''}${c.rule ? ` [${c.rule}]` : ''}`;
}

/** `node1/ingress-sbox/eth1`; a NAT or load-balancer step is netfilter's or IPVS's */
export function interfaceName(h: Hop): string {
  const dev = h.device ?? (h.what === 'lb' ? 'ipvs' : h.what === 'nat' ? 'netfilter' : h.ifindex ? `if${h.ifindex}` : 'stack');
  return `${h.node}/${h.netns}/${dev}`;
}

function exportPath(w: PcapngWriter, f: FlowRecord, dir: 'forward' | 'reply', p: Path, wallNs: (clockNs: number) => number, payloads?: PayloadIndex): void {
  let headers = p.packet;
  p.hops.forEach((h, i) => {
    if (h.headers) headers = h.headers;
    // the packet's own bytes when they were captured (--snaplen), else its headers rebuilt
    const captured = payloads?.packet(h, headers);
    const data = captured ?? packetBytes(headers);
    if (!data) return;
    const parts = [`flow ${f.id} ${dir} hop ${i + 1}/${p.hops.length}: ${h.where} ${h.what}`];
    if (h.latency_ns !== null && i > 0) parts.push(`+${(h.latency_ns / 1000).toFixed(1)}µs`);
    for (const c of h.changes) parts.push(changeText(c));
    if (h.drop_reason) parts.push(`dropped: ${h.drop_reason}`);
    if (i === p.hops.length - 1) parts.push(`path ${p.end}`);
    const iface = w.iface(interfaceName(h), h.where);
    w.packet(iface, wallNs(h.t_ns), data, Math.max(headers.len, data.byteLength), parts.join('; '));
  });
}

/** payloads: the --snaplen bytes seen so far; a hop whose event carried them is exported as them */
export function exportFlow(w: PcapngWriter, f: FlowRecord, wallNs: (clockNs: number) => number, payloads?: PayloadIndex): void {
  if (f.forward) exportPath(w, f, 'forward', f.forward, wallNs, payloads);
  if (f.reply) exportPath(w, f, 'reply', f.reply, wallNs, payloads);
}
