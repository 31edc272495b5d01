// Graphviz: a cluster per namespace (grouped by node), a box per device, edges for bridge
// ports, veth pairs and VXLAN tunnels (labelled with their VNI).
import type { TopologySnapshot } from '../model.js';

/** A DOT string literal: names with quotes, backslashes or newlines stay one label. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function renderDot(snap: TopologySnapshot): string {
  const id = (inode: number, ifindex: number): string => `d${inode}_${ifindex}`;
  const out: string[] = ['digraph topology {', '  rankdir=LR;', '  node [shape=box, fontname="monospace", fontsize=10];', '  edge [dir=none];'];
  const nodes = snap.nodes;
  nodes.forEach((node, ni) => {
    out.push(`  subgraph cluster_node${ni} {`, `    label=${dotString(node)}; style=bold;`);
    for (const ns of snap.netns.filter((n) => n.node === node)) {
      out.push(`    subgraph cluster_ns${ns.inode} {`, `      label=${dotString(`${ns.display} (netns ${ns.inode})`)}; style=rounded;`);
      for (const d of ns.devices.filter((x) => x.kind !== 'loopback')) {
        const lines = [d.name + (d.network ? ` (${d.network})` : ''), d.kind + (d.vxlan ? ` vni ${d.vxlan.vni}` : ''), ...d.addresses];
        const shape = d.kind === 'bridge' ? 'box3d' : d.kind === 'vxlan' ? 'cds' : 'box';
        out.push(`      ${id(ns.inode, d.ifindex)} [label=${dotString(lines.join('\n'))}, shape=${shape}];`);
      }
      out.push('    }');
    }
    out.push('  }');
  });
  const seen = new Set<string>();
  for (const ns of snap.netns) {
    for (const d of ns.devices) {
      if (d.master) {
        const br = ns.devices.find((x) => x.name === d.master);
        if (br) out.push(`  ${id(ns.inode, d.ifindex)} -> ${id(ns.inode, br.ifindex)} [color=gray];`);
      }
      if (d.peer?.netnsInode !== undefined) {
        const a = id(ns.inode, d.ifindex);
        const b = id(d.peer.netnsInode, d.peer.ifindex);
        const key = [a, b].sort().join('-');
        if (!seen.has(key) && snap.netns.some((n) => n.inode === d.peer!.netnsInode)) {
          seen.add(key);
          out.push(`  ${a} -> ${b} [style=bold, label="veth"];`);
        }
      }
      if (d.vxlan) {
        for (const remote of d.vxlan.remotes) {
          // the remote node's VXLAN device with the same VNI, found through its socket namespace's address
          const remoteHost = snap.netns.find((n) => n.devices.some((x) => x.addresses.some((a) => a.split('/')[0] === remote)));
          const peer = remoteHost && snap.netns.find((n) => n.node === remoteHost.node && n.devices.some((x) => x.vxlan?.vni === d.vxlan!.vni));
          const pd = peer?.devices.find((x) => x.vxlan?.vni === d.vxlan!.vni);
          if (!peer || !pd) continue;
          const a = id(ns.inode, d.ifindex);
          const b = id(peer.inode, pd.ifindex);
          const key = [a, b].sort().join('~');
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(`  ${a} -> ${b} [style=dashed, color=blue, label=${dotString(`VXLAN ${d.vxlan.vni} udp ${d.vxlan.port}`)}];`);
        }
      }
    }
  }
  out.push('}');
  return out.join('\n') + '\n';
}
