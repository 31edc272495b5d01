// Takes a snapshot of this machine's network: every namespace (kernel view), named from
// the Docker Engine API of each socket given and from the lab's metadata.
import os from 'node:os';
import { collectDockerView } from '../docker/view.js';
import { readLabMetadata } from '../lab/metadata.js';
import { kernelHasIpvs, readKernel } from './kernel.js';
import { TOPOLOGY_VERSION, type DockerView, type TopologySnapshot } from './model.js';
import { nameTopology } from './names.js';
import { findDockerds, listNetns, type ListNetnsOptions, type NetnsRef } from './netns.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface CollectOptions extends ListNetnsOptions {
  /** Docker sockets to ask (default: /var/run/docker.sock); [] for the kernel view only */
  docker?: string[];
  /** read the lab's metadata (default true) */
  lab?: boolean;
  /** only these namespaces (default: listNetns) */
  netns?: NetnsRef[];
  /** at most this many programs at once (default 6) */
  concurrency?: number;
}

export async function collectTopology(opts: CollectOptions = {}): Promise<TopologySnapshot> {
  const sockets = opts.docker ?? [DEFAULT_DOCKER_SOCKET];
  const [refs, dockerds, lab] = await Promise.all([
    opts.netns ? Promise.resolve(opts.netns) : listNetns(opts),
    findDockerds(opts.procRoot),
    opts.lab === false ? Promise.resolve(undefined) : readLabMetadata(),
  ]);
  // Docker first (its answers are small), then every namespace at once.
  const [docker, kernel] = await Promise.all([
    Promise.all(sockets.map((s) => collectDockerView(s, dockerds))),
    readKernel(refs, { concurrency: opts.concurrency }),
  ]);
  const warnings: string[] = [];
  for (const v of docker) if (!v.found || v.error) warnings.push(v.error ?? `Docker was not found at ${v.socket}; showing the kernel view only`);
  const netns = nameTopology(kernel, { lab, docker });
  for (const n of netns) for (const e of n.errors) warnings.push(`${n.node} · ${n.display}: ${e}`);
  const nodes = [...new Set(netns.map((n) => n.node))];
  return {
    version: TOPOLOGY_VERSION,
    takenAt: new Date().toISOString(),
    host: os.hostname(),
    nodes,
    netns,
    docker: docker as DockerView[],
    ...(lab ? { lab: { lbMode: lab.lbMode, lbReason: lab.lbReason } } : {}),
    ipvs: kernelHasIpvs(),
    warnings,
  };
}
