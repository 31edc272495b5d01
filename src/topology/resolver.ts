// (netns inode, ifindex) → a name a person reads: `node1 · ingress-sbox · eth1 (docker_gwbridge)`.
// The probe engine asks this for every event; lookups are two Map hits.
import type { Device, DeviceKind, Netns, TopologySnapshot } from './model.js';

export interface ResolvedDevice {
  node: string;
  /** the namespace's display name (`host`, `ingress-sbox`, `nginx.1`, `1-net1`) */
  netns: string;
  netnsInode: number;
  device: string;
  ifindex: number;
  kind: DeviceKind;
  network?: string;
  label: string;
}

export function deviceLabel(ns: Pick<Netns, 'node' | 'display'>, d: Pick<Device, 'name' | 'network'>): string {
  return `${ns.node} · ${ns.display} · ${d.name}${d.network ? ` (${d.network})` : ''}`;
}

export interface Resolver {
  resolve(netnsInode: number, ifindex: number): ResolvedDevice | undefined;
  /** like resolve, but always a label: unknown devices read `netns 4026532245 · if 7` */
  label(netnsInode: number, ifindex: number): string;
  netns(netnsInode: number): Netns | undefined;
  /** every device, with its namespace path: where the probe engine attaches */
  devices(): (ResolvedDevice & { netnsPath: string })[];
}

/** A namespace inode as a Map key: its signed 32-bit form, a small integer (the host's
 * inode and most others are past 2^31, and a Map boxes and hashes those as doubles, for
 * every hop every flow record names) */
function inodeKey(inode: number): number {
  return inode >= 0 && inode <= 0xffffffff ? inode | 0 : inode;
}

export function createResolver(snap: TopologySnapshot): Resolver {
  const nsMap = new Map<number, Netns>();
  const devMap = new Map<number, Map<number, ResolvedDevice>>();
  const build = (): void => {
    nsMap.clear();
    devMap.clear();
    for (const ns of snap.netns) {
      nsMap.set(inodeKey(ns.inode), ns);
      const m = new Map<number, ResolvedDevice>();
      for (const d of ns.devices) {
        m.set(d.ifindex, {
          node: ns.node,
          netns: ns.display,
          netnsInode: ns.inode,
          device: d.name,
          ifindex: d.ifindex,
          kind: d.kind,
          ...(d.network ? { network: d.network } : {}),
          label: deviceLabel(ns, d),
        });
      }
      devMap.set(inodeKey(ns.inode), m);
    }
  };
  build();
  return {
    resolve: (inode, ifindex) => devMap.get(inodeKey(inode))?.get(ifindex),
    label: (inode, ifindex) => {
      const r = devMap.get(inodeKey(inode))?.get(ifindex);
      if (r) return r.label;
      const ns = nsMap.get(inodeKey(inode));
      return ns ? `${ns.node} · ${ns.display} · if${ifindex}` : `netns ${inode} · if${ifindex}`;
    },
    netns: (inode) => nsMap.get(inodeKey(inode)),
    devices: () => snap.netns.flatMap((ns) => [...(devMap.get(inodeKey(ns.inode))?.values() ?? [])].map((d) => ({ ...d, netnsPath: ns.path }))),
  };
}
