// What the lab leaves beside its namespaces so that the topology model can name them as if
// Docker had made them (no dockerd runs in the lab): which namespace is which node's
// ingress-sbox or which task, which interface is on which network, which port is published.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LabLayout, LabNamespace, LabNetwork, LabService, LbMode } from './layout.js';

export const LAB_STATE_DIR = process.env.MESH_TRACE_LAB_DIR ?? '/run/mesh-trace/lab';
export const LAB_METADATA_FILE = path.join(LAB_STATE_DIR, 'lab.json');

export interface LabMetadata {
  kind: 'mesh-trace-lab';
  version: 1;
  createdAt: string;
  lbMode: LbMode;
  /** why this load balancer (e.g. the kernel has no ip_vs) */
  lbReason: string;
  nodes: { name: string; hostNs: string; underlay: string; clientFacing: string }[];
  namespaces: (LabNamespace & { inode: number; path: string })[];
  /** every lab interface and the network it is on: names like `eth1 (docker_gwbridge)` */
  interfaces: { ns: string; dev: string; network: string }[];
  networks: LabNetwork[];
  services: LabService[];
  servers: { ns: string; container: string; port: number; pid: number; expect: string }[];
}

export function interfacesOf(layout: LabLayout): LabMetadata['interfaces'] {
  const out: LabMetadata['interfaces'] = [];
  for (const v of layout.veths) for (const e of [v.a, v.b]) if (e.network) out.push({ ns: e.ns, dev: e.dev, network: e.network });
  for (const b of layout.bridges) out.push({ ns: b.ns, dev: b.dev, network: b.network });
  for (const x of layout.vxlans) out.push({ ns: x.ns, dev: x.dev, network: x.network });
  return out;
}

export async function writeLabMetadata(meta: LabMetadata): Promise<void> {
  await fs.mkdir(LAB_STATE_DIR, { recursive: true });
  const tmp = `${LAB_METADATA_FILE}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(meta, null, 2));
  await fs.rename(tmp, LAB_METADATA_FILE);
}

/** The lab's metadata, or undefined when no lab is up (or the file is not ours). */
export async function readLabMetadata(file = LAB_METADATA_FILE): Promise<LabMetadata | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(file, 'utf8')) as LabMetadata;
    return m.kind === 'mesh-trace-lab' && m.version === 1 ? m : undefined;
  } catch {
    return undefined;
  }
}
