// Gives every namespace and device of the kernel view the name Docker (or the lab) would
// give it: which node, which container or task, ingress-sbox, the overlay `1-<net>`
// namespaces, and which network each interface is on.
import os from 'node:os';
import type { LabMetadata } from '../lab/metadata.js';
import { toDevice, type KernelNetns } from './kernel.js';
import type { Device, DockerView, Netns, NetnsRole } from './model.js';

/** IPv4 CIDR membership (`10.0.1.5` in `10.0.1.0/24`). IPv6 is not matched. */
export function inSubnet(addr: string, cidr: string): boolean {
  const [net, lenS] = cidr.split('/');
  const a = addr.split('/')[0];
  if (!a.includes('.') || !net.includes('.')) return false;
  const toInt = (s: string): number => s.split('.').reduce((acc, b) => (acc << 8) + Number(b), 0) >>> 0;
  const len = Number(lenS ?? 32);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((toInt(a) & mask) >>> 0) === ((toInt(net) & mask) >>> 0);
}

interface NsName {
  node: string;
  display: string;
  role: NetnsRole;
  network?: string;
  container?: Netns['container'];
  /** the networks to match this namespace's addresses against */
  view?: DockerView;
}

/** Docker's sandbox file names: ingress_sbox, 1-<netid prefix> (overlay), lb_<netid prefix> (load balancer). */
function dockerFileName(file: string, view: DockerView | undefined, node: string): NsName | undefined {
  if (file === 'ingress_sbox') return { node, display: 'ingress-sbox', role: 'ingress-sbox', network: view?.networks.find((n) => n.ingress)?.name ?? 'ingress', view };
  const ov = /^\d+-([0-9a-z]+)$/.exec(file);
  if (ov) {
    const net = view?.networks.find((n) => n.id.startsWith(ov[1]));
    return { node, display: `1-${net?.name ?? ov[1]}`, role: 'overlay', network: net?.name, view };
  }
  const lb = /^lb_([0-9a-z]+)$/.exec(file);
  if (lb) {
    const net = view?.networks.find((n) => n.id.startsWith(lb[1]));
    return { node, display: `lb-${net?.name ?? lb[1]}`, role: 'lb', network: net?.name, view };
  }
  return undefined;
}

export interface NameContext {
  lab?: LabMetadata;
  docker: DockerView[];
  hostname?: string;
}

export function nameTopology(kernel: KernelNetns[], ctx: NameContext): Netns[] {
  const hostname = ctx.hostname ?? os.hostname();
  const views = ctx.docker.filter((v) => v.found);
  const hostInode = kernel.find((k) => k.ref.source === 'host')?.ref.inode;
  // The engine whose dockerd shares our network namespace names this machine's node.
  const mainView = views.find((v) => v.dockerd?.netnsInode === hostInode) ?? (views.length === 1 && !views[0].dockerd ? views[0] : undefined);
  const thisNode = mainView?.node ?? hostname;

  const names = new Map<number, NsName>();
  const labNs = new Map((ctx.lab?.namespaces ?? []).map((n) => [n.inode, n]));
  const labIfaces = new Map<string, string>(); // `${nsName}\0${dev}` -> network
  for (const i of ctx.lab?.interfaces ?? []) labIfaces.set(`${i.ns}\0${i.dev}`, i.network);

  for (const k of kernel) {
    const inode = k.ref.inode;
    const lab = labNs.get(inode);
    if (lab && k.ref.names.includes(lab.name)) {
      names.set(inode, {
        node: lab.node,
        display: lab.display,
        role: lab.role,
        ...(lab.network ? { network: lab.network } : {}),
        ...(lab.container ? { container: { id: lab.container.id, name: lab.container.name, service: lab.container.service, task: `${lab.container.service}.${lab.container.slot}`, slot: lab.container.slot } } : {}),
      });
      continue;
    }
    // A dockerd's own namespace is its node's host namespace (a swarm node in a netns).
    const hostOf = views.find((v) => v.dockerd?.netnsInode === inode);
    if (hostOf) {
      names.set(inode, { node: hostOf.node ?? thisNode, display: 'host', role: 'host', view: hostOf });
      continue;
    }
    if (k.ref.source === 'host') {
      names.set(inode, { node: thisNode, display: 'host', role: 'host', view: mainView });
      continue;
    }
    const container = views.flatMap((v) => v.containers.map((c) => ({ v, c }))).find((x) => x.c.netnsInode === inode);
    if (container) {
      const { v, c } = container;
      const display = c.service && c.slot !== undefined ? `${c.service}.${c.slot}` : c.name;
      names.set(inode, {
        node: v.node ?? thisNode,
        display,
        role: 'container',
        container: { id: c.id, name: c.name, ...(c.service ? { service: c.service } : {}), ...(c.task ? { task: c.task } : {}), ...(c.slot !== undefined ? { slot: c.slot } : {}), ...(c.image ? { image: c.image } : {}) },
        view: v,
      });
      continue;
    }
    if (k.ref.source === 'docker') {
      const v = views.find((x) => x.dockerd && k.ref.dockerd && x.dockerd.pid === k.ref.dockerd.pid) ?? (k.ref.dockerd ? undefined : mainView);
      const file = k.ref.names.find((n) => dockerFileName(n, v, v?.node ?? thisNode));
      const named = file ? dockerFileName(file, v, v?.node ?? thisNode) : undefined;
      names.set(inode, named ?? { node: v?.node ?? thisNode, display: k.ref.names[0], role: 'other', view: v });
      continue;
    }
    names.set(inode, { node: thisNode, display: k.ref.names[0] ?? String(inode), role: 'other' });
  }

  // Devices: which network each interface is on.
  const out: Netns[] = kernel.map((k) => {
    const n = names.get(k.ref.inode)!;
    const labName = labNs.get(k.ref.inode)?.name;
    const devices: Device[] = k.devices.map(toDevice);
    for (const d of devices) {
      const fromLab = labName ? labIfaces.get(`${labName}\0${d.name}`) : undefined;
      if (fromLab) {
        d.network = fromLab;
        continue;
      }
      const nets = n.view?.networks ?? [];
      const byAddr = nets.find((net) => d.addresses.some((a) => net.subnets.some((s) => inSubnet(a, s))));
      if (byAddr && (d.kind !== 'bridge' || byAddr.driver !== 'overlay' || n.role === 'overlay')) d.network = byAddr.name;
      else if (d.kind === 'bridge' && nets.some((x) => x.bridge === d.name)) d.network = nets.find((x) => x.bridge === d.name)!.name;
      else if (d.kind === 'bridge' && d.name === 'docker_gwbridge') d.network = 'docker_gwbridge';
      else if ((n.role === 'overlay' || n.role === 'lb') && n.network && d.kind !== 'loopback') d.network = n.network;
    }
    // A port takes its bridge's network.
    for (const d of devices) {
      if (!d.network && d.master) {
        const br = devices.find((x) => x.name === d.master);
        if (br?.network) d.network = br.network;
      }
    }
    return {
      inode: k.ref.inode,
      path: k.ref.path,
      names: k.ref.names,
      source: k.ref.source,
      node: n.node,
      display: n.display,
      role: n.role,
      ...(n.network ? { network: n.network } : {}),
      ...(n.container ? { container: n.container } : {}),
      devices,
      routes: k.routes,
      rules: k.rules,
      ...(k.ipvs ? { ipvs: k.ipvs } : {}),
      errors: k.errors,
    };
  });

  // A veth end with no network of its own takes its peer's (a container's eth0 gives its
  // host-side veth `(bridge)`, an overlay's vethN gives the container's eth0 `(net1)`).
  const byInode = new Map(out.map((n) => [n.inode, n]));
  for (let pass = 0; pass < 2; pass++) {
    for (const ns of out) {
      for (const d of ns.devices) {
        if (d.network || !d.peer?.netnsInode) continue;
        const p = byInode.get(d.peer.netnsInode)?.devices.find((x) => x.ifindex === d.peer!.ifindex);
        if (p?.network) d.network = p.network;
      }
    }
  }
  return out;
}
