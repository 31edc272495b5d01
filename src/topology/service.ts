// Service resolution: a published port → the ordered hops a packet to it is expected to
// cross on its way in (host DNAT, docker_gwbridge, ingress-sbox's mark, load balancer and
// SNAT, the ingress overlay and its VXLAN tunnel to the task's node, the task's own rules).
// Computed from a snapshot alone, so it works the same live and on a recording.
import type { Device, Netns, NatRule, TopologySnapshot } from './model.js';
import { inSubnet } from './names.js';
import { deviceLabel } from './resolver.js';

export type HopKind = 'device' | 'rule' | 'ipvs' | 'vxlan' | 'socket';

export interface Hop {
  kind: HopKind;
  node: string;
  netns: string;
  netnsInode: number;
  device?: string;
  ifindex?: number;
  rule?: NatRule;
  /** one line a person reads: `node1 · host · nat DOCKER-INGRESS DNAT tcp dpt:1080 → 172.18.0.2:1080` */
  text: string;
}

export interface ServicePath {
  port: number;
  protocol: string;
  node: string;
  hops: Hop[];
  /** the load balancer's backends (address:port) */
  backends: string[];
  /** how the load balancing is done: 'ipvs', 'iptables' or 'none' found */
  balancer: 'ipvs' | 'iptables' | 'none';
  /** what could not be followed */
  gaps: string[];
}

const ip = (a: string): string => a.split('/')[0];

export function ruleText(r: NatRule): string {
  const m = r.match;
  const neg = (k: string): string => (m.negated?.includes(k) ? '!' : '');
  const parts = [`${r.table} ${r.chain}`, r.target === 'JUMP' ? `→ ${r.jump}` : r.target];
  if (m.protocol) parts.push(`${neg('protocol')}${m.protocol}`);
  if (m.src) parts.push(`src ${neg('src')}${m.src}`);
  if (m.dst) parts.push(`dst ${neg('dst')}${m.dst}`);
  if (m.inIface) parts.push(`in ${neg('inIface')}${m.inIface}`);
  if (m.outIface) parts.push(`out ${neg('outIface')}${m.outIface}`);
  if (m.dport) parts.push(`dpt:${neg('dport')}${m.dport}`);
  if (m.sport) parts.push(`spt:${m.sport}`);
  if (m.mark) parts.push(`mark ${m.mark}`);
  if (m.ipvs) parts.push('ipvs');
  if (m.dstType) parts.push(`dst-type ${m.dstType}`);
  if (r.to) parts.push(`→ ${r.to}`);
  if (r.toPorts) parts.push(`→ :${r.toPorts}`);
  if (r.setMark) parts.push(`mark ${r.setMark}`);
  if (m.comment) parts.push(`/* ${m.comment} */`);
  return parts.join(' ');
}

function portMatches(spec: string | undefined, port: number): boolean {
  if (!spec) return true;
  return spec.split(',').some((p) => {
    const [lo, hi] = p.split(':').map(Number);
    return hi === undefined ? lo === port : port >= lo && port <= hi;
  });
}

function markMatches(spec: string | undefined, mark: number | undefined): boolean {
  if (!spec) return true;
  if (mark === undefined) return false;
  const [v, m] = spec.split('/').map((x) => Number(x));
  return (mark & (m ?? 0xffffffff)) === v;
}

/** Walks a chain in order, following jumps, to the first rule that rewrites (DNAT/REDIRECT/SNAT/MASQUERADE/MARK as asked). */
function walk(ns: Netns, table: 'nat' | 'mangle', chain: string, pkt: { proto: string; port: number; mark?: number; dst?: string }, want: Set<string>, seen = new Set<string>()): NatRule[] {
  if (seen.has(chain)) return [];
  seen.add(chain);
  for (const r of ns.rules.filter((x) => x.table === table && x.chain === chain)) {
    const m = r.match;
    if (m.protocol && (m.protocol === pkt.proto) === !!m.negated?.includes('protocol')) continue;
    if (m.dport && portMatches(m.dport, pkt.port) === !!m.negated?.includes('dport')) continue;
    if (m.mark && !markMatches(m.mark, pkt.mark)) continue;
    if (m.dst && pkt.dst && inSubnet(pkt.dst, m.dst.includes('/') ? m.dst : `${m.dst}/32`) === !!m.negated?.includes('dst')) continue;
    if (r.target === 'JUMP') {
      const sub = walk(ns, table, r.jump, pkt, want, seen);
      if (sub.length) return [r, ...sub];
      continue;
    }
    if (r.target === 'RETURN') return [];
    if (want.has(r.target)) return [r];
  }
  return [];
}

function holderOf(snap: TopologySnapshot, addr: string, prefer?: string): { ns: Netns; dev: Device } | undefined {
  const hits: { ns: Netns; dev: Device }[] = [];
  for (const ns of snap.netns) for (const d of ns.devices) if (d.addresses.some((a) => ip(a) === addr)) hits.push({ ns, dev: d });
  return hits.find((h) => h.ns.node === prefer && h.ns.role !== 'host') ?? hits.find((h) => h.ns.node === prefer) ?? hits[0];
}

export function resolvePublishedPort(snap: TopologySnapshot, port: number, opts: { node?: string; protocol?: string } = {}): ServicePath {
  const proto = opts.protocol ?? 'tcp';
  const node = opts.node ?? snap.nodes.find((n) => snap.netns.some((x) => x.node === n && x.role === 'host' && x.rules.some((r) => r.target === 'DNAT'))) ?? snap.nodes[0];
  const path: ServicePath = { port, protocol: proto, node, hops: [], backends: [], balancer: 'none', gaps: [] };
  const byInode = new Map(snap.netns.map((n) => [n.inode, n]));
  const dev = (ns: Netns, d: Device): Hop => ({ kind: d.kind === 'vxlan' ? 'vxlan' : 'device', node: ns.node, netns: ns.display, netnsInode: ns.inode, device: d.name, ifindex: d.ifindex, text: deviceLabel(ns, d) + (d.vxlan ? ` vni ${d.vxlan.vni}` : '') });
  const rule = (ns: Netns, r: NatRule): Hop => ({ kind: 'rule', node: ns.node, netns: ns.display, netnsInode: ns.inode, rule: r, text: `${ns.node} · ${ns.display} · ${ruleText(r)}` });
  const peerOf = (d: Device): { ns: Netns; dev: Device } | undefined => {
    const ns = d.peer?.netnsInode !== undefined ? byInode.get(d.peer.netnsInode) : undefined;
    const p = ns?.devices.find((x) => x.ifindex === d.peer!.ifindex);
    return ns && p ? { ns, dev: p } : undefined;
  };

  const host = snap.netns.find((n) => n.node === node && n.role === 'host');
  if (!host) {
    path.gaps.push(`no host namespace for node ${node}`);
    return path;
  }
  // 1. The host: DNAT of the published port (Docker: PREROUTING → DOCKER-INGRESS).
  const dnat = walk(host, 'nat', 'PREROUTING', { proto, port }, new Set(['DNAT']));
  if (!dnat.length) {
    path.gaps.push(`no DNAT for ${proto} port ${port} in ${node}'s host namespace`);
    return path;
  }
  for (const r of dnat) path.hops.push(rule(host, r));
  const to = dnat[dnat.length - 1].to ?? '';
  const [sboxAddr, sboxPortS] = to.split(':');
  let curPort = sboxPortS ? Number(sboxPortS) : port;

  // 2. Host → the namespace holding the DNAT address (ingress-sbox), across its bridge and veth.
  const target = holderOf(snap, sboxAddr, node);
  if (!target) {
    path.gaps.push(`nothing holds ${sboxAddr}`);
    return path;
  }
  const crossInto = (from: Netns, into: { ns: Netns; dev: Device }): void => {
    // the bridge in `from` whose port's peer is `into.dev`
    for (const br of from.devices.filter((d) => d.kind === 'bridge')) {
      const portDev = from.devices.find((d) => d.master === br.name && d.peer?.netnsInode === into.ns.inode && d.peer.ifindex === into.dev.ifindex);
      if (portDev) {
        path.hops.push(dev(from, br), dev(from, portDev), dev(into.ns, into.dev));
        return;
      }
    }
    const direct = from.devices.find((d) => d.peer?.netnsInode === into.ns.inode && d.peer.ifindex === into.dev.ifindex);
    if (direct) path.hops.push(dev(from, direct));
    path.hops.push(dev(into.ns, into.dev));
  };
  crossInto(host, target);
  const sbox = target.ns;

  // 3. ingress-sbox: mark, load balancer (IPVS fwmark or iptables DNAT), SNAT.
  const markRule = walk(sbox, 'mangle', 'PREROUTING', { proto, port: curPort }, new Set(['MARK']));
  let mark: number | undefined;
  for (const r of markRule) path.hops.push(rule(sbox, r));
  if (markRule.length) mark = Number((markRule[markRule.length - 1].setMark ?? '').split('/')[0]);
  const lbDnat = walk(sbox, 'nat', 'PREROUTING', { proto, port: curPort, mark }, new Set(['DNAT', 'REDIRECT']));
  for (const r of lbDnat) path.hops.push(rule(sbox, r));
  const last = lbDnat[lbDnat.length - 1];
  const backends: { addr: string; port: number }[] = [];
  const fwm = sbox.ipvs?.find((s) => s.protocol === 'FWM' && s.fwmark === mark);
  if (fwm) {
    path.balancer = 'ipvs';
    path.hops.push({ kind: 'ipvs', node: sbox.node, netns: sbox.display, netnsInode: sbox.inode, text: `${sbox.node} · ${sbox.display} · IPVS FWM ${mark} ${fwm.scheduler} → ${fwm.realServers.map((s) => `${s.address}:${s.port || curPort}`).join(', ')}` });
    for (const s of fwm.realServers) backends.push({ addr: s.address, port: s.port || (last?.target === 'REDIRECT' ? Number(last.toPorts) : curPort) });
  } else if (last?.target === 'DNAT' && last.to) {
    path.balancer = 'iptables';
    const [a, p] = last.to.split(':');
    backends.push({ addr: a.split('-')[0], port: p ? Number(p) : curPort });
  }
  path.backends = backends.map((b) => `${b.addr}:${b.port}`);
  if (!backends.length) {
    path.gaps.push(`no load balancer for port ${curPort} in ${sbox.node} · ${sbox.display}`);
    return path;
  }
  const snat = walk(sbox, 'nat', 'POSTROUTING', { proto, port: backends[0].port, mark, dst: backends[0].addr }, new Set(['SNAT', 'MASQUERADE']));
  for (const r of snat) path.hops.push(rule(sbox, r));

  // 4. To the (first) backend across the overlay, through VXLAN when it lives on another node.
  const be = backends[0];
  curPort = be.port;
  const out = sbox.devices.find((d) => d.addresses.some((a) => inSubnet(be.addr, a)));
  const dest = holderOf(snap, be.addr);
  if (!out || !dest) {
    path.gaps.push(`no way from ${sbox.display} to backend ${be.addr}`);
    return path;
  }
  path.hops.push(dev(sbox, out));
  const ovIn = peerOf(out);
  if (!ovIn) {
    path.gaps.push(`${out.name}'s peer is unknown`);
    return path;
  }
  path.hops.push(dev(ovIn.ns, ovIn.dev));
  const br = ovIn.ns.devices.find((d) => d.name === ovIn.dev.master);
  if (br) path.hops.push(dev(ovIn.ns, br));
  const localPort = ovIn.ns.devices.find((d) => d.master === br?.name && d.peer?.netnsInode === dest.ns.inode);
  if (localPort) {
    path.hops.push(dev(ovIn.ns, localPort), dev(dest.ns, dest.dev));
  } else {
    const vx = ovIn.ns.devices.find((d) => d.kind === 'vxlan' && d.master === br?.name);
    const fdb = vx?.vxlan?.fdb.find((f) => f.mac === dest.dev.mac);
    if (!vx || !fdb) {
      path.gaps.push(`no VXLAN forwarding entry for ${be.addr} (${dest.dev.mac}) in ${ovIn.ns.node} · ${ovIn.ns.display}`);
      return path;
    }
    path.hops.push({ ...dev(ovIn.ns, vx), text: `${deviceLabel(ovIn.ns, vx)} vni ${vx.vxlan!.vni} → ${fdb.dst}:${vx.vxlan!.port}` });
    const remoteOv = snap.netns.find((n) => n.node === dest.ns.node && n.devices.some((d) => d.kind === 'vxlan' && d.vxlan?.vni === vx.vxlan!.vni));
    const rvx = remoteOv?.devices.find((d) => d.kind === 'vxlan' && d.vxlan?.vni === vx.vxlan!.vni);
    if (remoteOv && rvx) {
      path.hops.push(dev(remoteOv, rvx));
      const rbr = remoteOv.devices.find((d) => d.name === rvx.master);
      if (rbr) path.hops.push(dev(remoteOv, rbr));
      const rport = remoteOv.devices.find((d) => d.master === rbr?.name && d.peer?.netnsInode === dest.ns.inode);
      if (rport) path.hops.push(dev(remoteOv, rport));
    } else path.gaps.push(`no VXLAN ${vx.vxlan!.vni} device on ${dest.ns.node}`);
    path.hops.push(dev(dest.ns, dest.dev));
  }

  // 5. The task's own rules (Docker 20.10 rewrites the port here), then its socket.
  const redirect = walk(dest.ns, 'nat', 'PREROUTING', { proto, port: curPort, dst: be.addr }, new Set(['REDIRECT', 'DNAT']));
  for (const r of redirect) path.hops.push(rule(dest.ns, r));
  const lastR = redirect[redirect.length - 1];
  if (lastR?.target === 'REDIRECT' && lastR.toPorts) curPort = Number(lastR.toPorts);
  path.hops.push({ kind: 'socket', node: dest.ns.node, netns: dest.ns.display, netnsInode: dest.ns.inode, text: `${dest.ns.node} · ${dest.ns.display} · ${proto} :${curPort}` });
  return path;
}
