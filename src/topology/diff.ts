// Snapshots serialize (they travel inside recordings) and compare: what namespaces and
// devices appeared, vanished or changed between two of them.
import { MeshTraceError } from '../errors.js';
import { TOPOLOGY_VERSION, type Device, type TopologySnapshot } from './model.js';

export function serializeSnapshot(s: TopologySnapshot): string {
  return JSON.stringify(s);
}

export function parseSnapshot(text: string): TopologySnapshot {
  let s: TopologySnapshot;
  try {
    s = JSON.parse(text) as TopologySnapshot;
  } catch (e) {
    throw new MeshTraceError('BAD_INPUT', 'The topology snapshot is not valid JSON.', { hint: 'Was it written by mesh-trace topology --json?', cause: e });
  }
  if (!s || typeof s !== 'object' || !Array.isArray(s.netns))
    throw new MeshTraceError('BAD_INPUT', 'The file is not a mesh-trace topology snapshot.', { hint: 'Write one with mesh-trace topology --json.' });
  if (s.version !== TOPOLOGY_VERSION)
    throw new MeshTraceError('BAD_INPUT', `The topology snapshot has version ${String(s.version)}; this mesh-trace reads version ${TOPOLOGY_VERSION}.`, {
      hint: 'Use the mesh-trace release that wrote it.',
    });
  return s;
}

export interface DeviceChange {
  ifindex: number;
  name: string;
  /** the fields that differ (name, kind, mac, mtu, state, master, addresses, peer, vxlan, network) */
  fields: string[];
}

export interface NetnsDiff {
  inode: number;
  label: string;
  addedDevices: string[];
  removedDevices: string[];
  changedDevices: DeviceChange[];
  addedRules: string[];
  removedRules: string[];
}

export interface SnapshotDiff {
  addedNetns: { inode: number; label: string }[];
  removedNetns: { inode: number; label: string }[];
  changedNetns: NetnsDiff[];
  /** true when nothing a packet crosses differs */
  same: boolean;
}

const fields: (keyof Device)[] = ['name', 'kind', 'mac', 'mtu', 'state', 'master', 'addresses', 'peer', 'vxlan', 'network'];

export function compareSnapshots(a: TopologySnapshot, b: TopologySnapshot): SnapshotDiff {
  const am = new Map(a.netns.map((n) => [n.inode, n]));
  const bm = new Map(b.netns.map((n) => [n.inode, n]));
  const label = (n: { node: string; display: string }): string => `${n.node} · ${n.display}`;
  const diff: SnapshotDiff = {
    addedNetns: b.netns.filter((n) => !am.has(n.inode)).map((n) => ({ inode: n.inode, label: label(n) })),
    removedNetns: a.netns.filter((n) => !bm.has(n.inode)).map((n) => ({ inode: n.inode, label: label(n) })),
    changedNetns: [],
    same: false,
  };
  for (const na of a.netns) {
    const nb = bm.get(na.inode);
    if (!nb) continue;
    const da = new Map(na.devices.map((d) => [d.ifindex, d]));
    const db = new Map(nb.devices.map((d) => [d.ifindex, d]));
    const changed: DeviceChange[] = [];
    for (const [i, d] of da) {
      const e = db.get(i);
      if (!e) continue;
      const f = fields.filter((k) => JSON.stringify(d[k]) !== JSON.stringify(e[k]));
      if (f.length) changed.push({ ifindex: i, name: e.name, fields: f });
    }
    const ra = new Set(na.rules.map((r) => `${r.table} ${r.raw}`));
    const rb = new Set(nb.rules.map((r) => `${r.table} ${r.raw}`));
    const nd: NetnsDiff = {
      inode: na.inode,
      label: label(nb),
      addedDevices: nb.devices.filter((d) => !da.has(d.ifindex)).map((d) => d.name),
      removedDevices: na.devices.filter((d) => !db.has(d.ifindex)).map((d) => d.name),
      changedDevices: changed,
      addedRules: [...rb].filter((r) => !ra.has(r)),
      removedRules: [...ra].filter((r) => !rb.has(r)),
    };
    if (nd.addedDevices.length || nd.removedDevices.length || nd.changedDevices.length || nd.addedRules.length || nd.removedRules.length) diff.changedNetns.push(nd);
  }
  diff.same = !diff.addedNetns.length && !diff.removedNetns.length && !diff.changedNetns.length;
  return diff;
}
