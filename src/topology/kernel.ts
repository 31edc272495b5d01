// The kernel view: in every network namespace, its devices (with veth peers resolved across
// namespaces and VXLAN tunnels with their fdb), addresses, routes, NAT and mangle rules and
// IPVS services, read from iproute2's JSON, iptables-save and /proc/net/ip_vs, each run
// inside the namespace through nsenter with an argument array (never a shell).
import { existsSync } from 'node:fs';
import { runIn } from './exec.js';
import type { Device, IpvsService, NatRule, Route } from './model.js';
import type { NetnsRef } from './netns.js';
import { parseFdb, parseIpAddr, parseIpRoute, parseIptablesSave, parseProcIpVs, type ParsedDevice } from './parse.js';

export interface KernelNetns {
  ref: NetnsRef;
  devices: ParsedDevice[];
  routes: Route[];
  rules: NatRule[];
  ipvs?: IpvsService[];
  errors: string[];
}

export const kernelHasIpvs = (): boolean => existsSync('/proc/net/ip_vs');

/** Runs at most `n` tasks at once: two cores, dozens of namespaces, four programs each. */
export async function mapLimit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function readOne(ref: NetnsRef, ipvs: boolean): Promise<KernelNetns> {
  // The host's namespace is ours: no nsenter needed (and /proc/self would name nsenter's anyway).
  const nsPath = ref.source === 'host' ? undefined : ref.path;
  const errors: string[] = [];
  const tryRun = async (argv: string[]): Promise<string> => {
    const r = await runIn(nsPath, argv, { allowFailure: true, timeoutMs: 10_000 });
    if (r.code !== 0) errors.push(`${argv[0]}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200) || `exit ${r.code}`}`);
    return r.code === 0 ? r.stdout : '';
  };
  const [addr, route, save, ipvsText] = await Promise.all([
    tryRun(['ip', '-json', '-details', 'addr', 'show']),
    tryRun(['ip', '-json', 'route', 'show', 'table', 'all']),
    tryRun(['iptables-save']),
    ipvs ? tryRun(['cat', '/proc/net/ip_vs']) : Promise.resolve(undefined),
  ]);
  const devices = addr ? parseIpAddr(addr) : [];
  if (!addr && errors.length && /Cannot open|No such file|Invalid argument/.test(errors[0])) errors.unshift('the namespace vanished while it was read');
  if (devices.some((d) => d.kind === 'vxlan')) {
    const fdb = parseFdb(await tryRun(['bridge', '-json', 'fdb', 'show']));
    for (const d of devices) {
      if (!d.vxlan) continue;
      d.vxlan.fdb = fdb.get(d.name) ?? [];
      d.vxlan.remotes = [...new Set(d.vxlan.fdb.map((f) => f.dst).filter((x) => x !== '0.0.0.0'))];
      if (d.vxlan.group && !d.vxlan.remotes.includes(d.vxlan.group)) d.vxlan.remotes.push(d.vxlan.group);
    }
  }
  return {
    ref,
    devices,
    routes: route ? parseIpRoute(route) : [],
    rules: save ? parseIptablesSave(save) : [],
    ...(ipvsText !== undefined ? { ipvs: parseProcIpVs(ipvsText) } : {}),
    errors,
  };
}

/**
 * Tells which namespace each iproute2 `link_netnsid` means. A veth pair is two facts that
 * must agree: (A, i) says its peer is ifindex j in nsid k, and (B, j) says its peer is
 * ifindex i. All veths of A sharing nsid k have their peers in the same B, so the
 * candidates for (A, k) are the namespaces that match every one of them. Named namespaces
 * that stay ambiguous are settled with `ip netns list-id`; VXLAN devices (whose nsid names
 * the namespace of their socket) also by which namespace holds their local address.
 */
export async function resolveNsids(all: KernelNetns[]): Promise<Map<number, Map<number, number>>> {
  const map = new Map<number, Map<number, number>>(); // inode A -> (nsid -> inode B)
  const byInode = new Map(all.map((n) => [n.ref.inode, n]));
  for (const a of all) {
    const groups = new Map<number, ParsedDevice[]>();
    for (const d of a.devices) if (d.linkNetnsId !== undefined) groups.set(d.linkNetnsId, [...(groups.get(d.linkNetnsId) ?? []), d]);
    const m = new Map<number, number>();
    for (const [nsid, devs] of groups) {
      const veths = devs.filter((d) => d.kind === 'veth' && d.linkIndex !== undefined);
      let cands: KernelNetns[] | undefined;
      if (veths.length) {
        cands = all.filter(
          (b) =>
            b !== a &&
            veths.every((v) => b.devices.some((p) => p.kind === 'veth' && p.ifindex === v.linkIndex && p.linkIndex === v.ifindex && p.linkNetnsId !== undefined)),
        );
      }
      const vx = devs.find((d) => d.kind === 'vxlan' && d.vxlan?.local);
      if ((!cands || cands.length !== 1) && vx) {
        const local = vx.vxlan!.local!;
        const withAddr = (cands ?? all).filter((b) => b !== a && b.devices.some((d) => d.addresses.some((x) => x.split('/')[0] === local)));
        if (withAddr.length === 1) cands = withAddr;
      }
      if (cands && cands.length === 1) m.set(nsid, cands[0].ref.inode);
    }
    // Still unknown, and A or its peers are named: ask iproute2 which names have which nsid.
    if ([...groups.keys()].some((k) => !m.has(k))) {
      const r = await runIn(a.ref.source === 'host' ? undefined : a.ref.path, ['ip', '-json', 'netns', 'list-id'], { allowFailure: true });
      if (r.code === 0 && r.stdout.trim()) {
        for (const e of JSON.parse(r.stdout) as { nsid: number; name?: string }[]) {
          if (m.has(e.nsid) || !e.name) continue;
          const b = all.find((x) => x.ref.source === 'netns' && x.ref.names.includes(e.name!));
          if (b) m.set(e.nsid, b.ref.inode);
        }
      }
    }
    map.set(a.ref.inode, m);
  }
  // Fill in the peers and sockets.
  for (const a of all) {
    const m = map.get(a.ref.inode)!;
    for (const d of a.devices) {
      if (d.kind === 'veth' && d.peer) {
        const inode = d.linkNetnsId === undefined ? a.ref.inode : m.get(d.linkNetnsId);
        if (inode !== undefined) {
          d.peer.netnsInode = inode;
          const peer = byInode.get(inode)?.devices.find((x) => x.ifindex === d.peer!.ifindex);
          if (peer) d.peer.name = peer.name;
        }
      }
      if (d.vxlan) {
        const inode = d.linkNetnsId === undefined ? a.ref.inode : m.get(d.linkNetnsId);
        if (inode !== undefined) d.vxlan.socketNetnsInode = inode;
      }
    }
  }
  return map;
}

/** Reads every namespace, then joins veth pairs and VXLAN sockets across them. */
export async function readKernel(refs: NetnsRef[], opts: { concurrency?: number } = {}): Promise<KernelNetns[]> {
  const ipvs = kernelHasIpvs();
  const all = await mapLimit(refs, opts.concurrency ?? 6, (r) => readOne(r, ipvs));
  await resolveNsids(all);
  return all;
}

/** Strips the collector's raw hints, leaving the snapshot's Device. */
export function toDevice(d: ParsedDevice): Device {
  const { linkNetnsId: _a, linkIndex: _b, ...rest } = d;
  return rest;
}
