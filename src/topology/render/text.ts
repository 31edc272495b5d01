// The text tree the seeds draw by hand: per node, per namespace, bridges with their ports,
// veth pairs across namespaces, VXLAN tunnels with VNI and remotes, NAT and mark rules,
// load-balancer backends.
import type { Device, Netns, TopologySnapshot } from '../model.js';
import { createResolver, type Resolver } from '../resolver.js';
import { ruleText } from '../service.js';

const shownTargets = new Set(['DNAT', 'SNAT', 'REDIRECT', 'MASQUERADE', 'MARK', 'JUMP']);

/** `opts.netns` picks the namespaces drawn; peers in the others are still named. */
export function renderText(snap: TopologySnapshot, opts: { netns?: (n: Netns) => boolean; resolver?: Resolver } = {}): string {
  const r = opts.resolver ?? createResolver(snap);
  const lines: string[] = [];
  const peerText = (d: Device): string => {
    if (!d.peer) return '';
    if (d.peer.netnsInode === undefined) return ` ⇄ if${d.peer.ifindex} (namespace unknown)`;
    const p = r.resolve(d.peer.netnsInode, d.peer.ifindex);
    return ` ⇄ ${p ? `${p.netns === r.netns(d.peer.netnsInode)?.display ? `${p.node} · ${p.netns} · ${p.device}` : p.label}` : `if${d.peer.ifindex}`}`;
  };
  const devLine = (d: Device): string => {
    const bits = [d.name, d.kind];
    if (d.network) bits.push(`(${d.network})`);
    if (d.addresses.length) bits.push(d.addresses.join(' '));
    if (d.vxlan) {
      const v = d.vxlan;
      bits.push(`vni ${v.vni} udp ${v.port}${v.local ? ` local ${v.local}` : ''}${v.remotes.length ? ` → ${v.remotes.join(', ')}` : ''}${v.fdb.length ? ` (${v.fdb.length} fdb)` : ''}`);
    }
    bits.push(`mtu ${d.mtu}`);
    if (!d.up) bits.push('DOWN');
    return bits.join('  ') + peerText(d);
  };
  const selected = snap.netns.filter((n) => !opts.netns || opts.netns(n));
  for (const node of snap.nodes) {
    const nss = selected.filter((n) => n.node === node);
    if (!nss.length) continue;
    lines.push(node);
    nss.forEach((ns, i) => {
      const lastNs = i === nss.length - 1;
      const pre = lastNs ? '    ' : '│   ';
      const title = `${ns.display}${ns.container?.name && ns.container.name !== ns.display ? ` [${ns.container.name}]` : ''}  netns ${ns.inode}  ${ns.path}`;
      lines.push(`${lastNs ? '└── ' : '├── '}${title}`);
      const items: string[][] = [];
      const devs = ns.devices.filter((d) => d.kind !== 'loopback');
      for (const d of devs.filter((x) => !x.master)) {
        const sub = d.kind === 'bridge' ? devs.filter((p) => p.master === d.name).map(devLine) : [];
        items.push([devLine(d), ...sub]);
      }
      for (const rule of ns.rules.filter((x) => shownTargets.has(x.target))) items.push([ruleText(rule)]);
      for (const s of ns.ipvs ?? []) {
        const head = s.protocol === 'FWM' ? `IPVS FWM ${s.fwmark} ${s.scheduler}` : `IPVS ${s.protocol} ${s.address}:${s.port} ${s.scheduler}`;
        items.push([head, ...s.realServers.map((x) => `→ ${x.address}:${x.port} ${x.forward} weight ${x.weight}`)]);
      }
      for (const e of ns.errors) items.push([`! ${e}`]);
      items.forEach((it, j) => {
        const last = j === items.length - 1;
        lines.push(`${pre}${last ? '└── ' : '├── '}${it[0]}`);
        it.slice(1).forEach((s, k) => lines.push(`${pre}${last ? '    ' : '│   '}${k === it.length - 2 ? '└── ' : '├── '}${s}`));
      });
    });
  }
  return lines.join('\n') + '\n';
}
