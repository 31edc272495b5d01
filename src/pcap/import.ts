// Packets from pcap/pcapng files → events on the same road as live ones. Each packet is
// an event at its device; the sightings of one datagram on several devices (several
// files, or one pcapng of several interfaces) become one journey, as one skb's hooks do
// live: a datagram is known by what NAT leaves alone (IP ID, length, TCP seq/ack/flags,
// and a fingerprint of the payload), seen again within a short window.
import { basename, extname } from 'node:path';
import { Hook } from '../events/hooks.js';
import { SNAPLEN_MAX } from '../events/layout.js';
import type { PacketEvent, PacketHeaders } from '../events/decode.js';
import type { Namer } from '../correlate/namer.js';
import type { Resolver, ResolvedDevice } from '../topology/resolver.js';
import type { TopologySnapshot } from '../topology/model.js';
import { createResolver } from '../topology/resolver.js';
import { MeshTraceError } from '../errors.js';
import { dissect } from './dissect.js';
import { PcapReader, type PcapPacket } from './read.js';

/** where a packet was seen, as the events and the namer know it */
interface Place {
  inode: number;
  ifindex: number;
  /** named by the topology (mapped), or by the file */
  resolved?: ResolvedDevice;
  label: { node: string; netns: string; device: string };
  mac?: string;
}

export interface PcapImportOptions {
  /** names devices and finds NAT rules: `--topology FILE` */
  topology?: TopologySnapshot;
  /** interface name (pcapng's, the file's stem for pcap, or `any`) → node/netns/device */
  map?: Record<string, string>;
}

/** the window within which a second sighting of the same datagram is the same packet */
const SAME_PACKET_NS = 200e6;
/** a fake skb per datagram: the prefix says "not a kernel address" */
const SKB_PREFIX = '7e57';

export class PcapImport {
  readonly readers: PcapReader[];
  private readonly resolver?: Resolver;
  private readonly places = new Map<string, Place>();
  private readonly byInodeIf = new Map<string, Place>();
  private readonly datagrams = new Map<string, { skb: string; lastNs: number }>();
  private nextSkb = 1;
  private nextInode = 1;
  private baseSec = 0;
  /** packets without IP headers (ARP, LLDP, …): not part of any flow */
  skipped = 0;
  packets = 0;

  constructor(
    readonly files: string[],
    private readonly o: PcapImportOptions = {},
  ) {
    this.resolver = o.topology ? createResolver(o.topology) : undefined;
    // a --map that names nothing is a usage error now, not a surprise mid-replay
    for (const [iface, target] of Object.entries(o.map ?? {})) {
      const [node, netns] = target.split('/');
      const anyForm = target.split('/').length === 2 && o.topology?.netns.some((ns) => ns.node === node && ns.display === netns);
      if (!anyForm) this.mapTo(target, iface, undefined);
    }
    this.readers = [];
    try {
      for (const f of files) this.readers.push(new PcapReader(f));
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    for (const r of this.readers) r.close();
  }

  get size(): number {
    return this.readers.reduce((n, r) => n + r.size, 0);
  }
  get position(): number {
    return this.readers.reduce((n, r) => n + r.position, 0);
  }

  /** wall-clock ns of an event time */
  wallNs(tsNs: number): number {
    return (this.baseSec - 1) * 1e9 + tsNs;
  }

  namer(dropReason: (n: number) => string): Namer {
    return {
      device: (inode, ifindex) => {
        const p = this.byInodeIf.get(`${inode}:${ifindex}`);
        if (p?.resolved) return p.resolved;
        if (p) return { node: p.label.node, netns: p.label.netns, netnsInode: inode, device: p.label.device, ifindex, kind: 'other', label: `${p.label.node} · ${p.label.netns} · ${p.label.device}` };
        return this.resolver?.resolve(inode, ifindex);
      },
      netns: (inode) => this.resolver?.netns(inode),
      dropReason,
    };
  }

  /** every packet of every file, merged in time order, as events */
  *events(): IterableIterator<PacketEvent> {
    const its = this.readers.map((r) => r.packets());
    const heads: (PcapPacket | undefined)[] = its.map((it) => it.next().value ?? undefined);
    const firsts = heads.filter((h): h is PcapPacket => !!h && h.sec > 0).map((h) => h.sec);
    this.baseSec = firsts.length ? Math.min(...firsts) : 0;
    for (;;) {
      let k = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h && (k < 0 || h.sec < heads[k]!.sec || (h.sec === heads[k]!.sec && h.nsec < heads[k]!.nsec))) k = i;
      }
      if (k < 0) return;
      const p = heads[k]!;
      heads[k] = its[k].next().value ?? undefined;
      const ev = this.event(k, p);
      if (ev) yield ev;
    }
  }

  private event(file: number, p: PcapPacket): PacketEvent | undefined {
    this.packets++;
    const r = this.readers[file];
    const iface = r.interfaces[p.iface];
    const d = dissect(iface.linktype, p.data);
    if (!d.outer) {
      this.skipped++;
      return undefined;
    }
    const place = this.place(file, p.iface, d.ifindex);
    const tsNs = (p.sec - this.baseSec + 1) * 1e9 + p.nsec;
    const view = d.inner ?? d.outer;
    let dir: PacketEvent['dir'] = 'none';
    if (p.direction === 1) dir = 'ingress';
    else if (p.direction === 2) dir = 'egress';
    else if (d.pktType !== undefined) dir = d.pktType === 4 ? 'egress' : 'ingress';
    else if (place.mac && d.srcMac) dir = d.srcMac === place.mac ? 'egress' : 'ingress';
    return {
      hook: Hook.CAPTURED,
      hookName: 'captured',
      dir,
      cpu: 0,
      tsNs,
      skb: this.skbFor(view, d.payloadHash, tsNs),
      netns: place.inode,
      ifindex: place.ifindex,
      len: p.origLen,
      mark: 0,
      dropReason: 0,
      aux: 0,
      outer: d.outer,
      ...(d.vni !== undefined && d.inner ? { vni: d.vni, inner: d.inner } : {}),
      // the packet's bytes from its IP header on, as --snaplen would have kept them
      ...(d.l3 !== undefined ? { payload: p.data.subarray(d.l3, d.l3 + SNAPLEN_MAX) } : {}),
    };
  }

  private skbFor(h: PacketHeaders, payloadHash: number, tsNs: number): string {
    const key = `${h.proto}|${h.ipId}|${h.ipLen}|${h.tcpSeq}|${h.tcpAck}|${h.tcpFlags}|${payloadHash}`;
    const seen = this.datagrams.get(key);
    if (seen && tsNs - seen.lastNs < SAME_PACKET_NS) {
      seen.lastNs = tsNs;
      return seen.skb;
    }
    const skb = SKB_PREFIX + (this.nextSkb++).toString(16).padStart(12, '0');
    this.datagrams.set(key, { skb, lastNs: tsNs });
    if (this.datagrams.size > 1 << 16) {
      for (const [k, v] of this.datagrams) if (tsNs - v.lastNs > SAME_PACKET_NS) this.datagrams.delete(k);
    }
    return skb;
  }

  private place(file: number, iface: number, sllIfindex: number | undefined): Place {
    const key = `${file}:${iface}:${sllIfindex ?? ''}`;
    let p = this.places.get(key);
    if (p) return p;
    const r = this.readers[file];
    const desc = r.interfaces[iface];
    const stem = basename(r.path, extname(r.path));
    const ifName = desc.name ?? (r.interfaces.length > 1 ? `if${iface}` : stem);
    const target = this.o.map?.[ifName] ?? (desc.name ? undefined : this.o.map?.[basename(r.path)]);
    const mapped = target !== undefined ? this.mapTo(target, ifName, sllIfindex) : undefined;
    if (mapped) p = mapped;
    else {
      const inode = this.nextInode++;
      const device = sllIfindex ? `${ifName}:if${sllIfindex}` : ifName;
      p = { inode, ifindex: sllIfindex || 1, label: { node: 'pcap', netns: basename(r.path), device } };
    }
    this.places.set(key, p);
    this.byInodeIf.set(`${p.inode}:${p.ifindex}`, p);
    return p;
  }

  /** `node1/host/eth0`, `host/eth0`, `eth0`; for `any` captures `node1/host` (the file gives the ifindex) */
  private mapTo(target: string, ifName: string, sllIfindex: number | undefined): Place {
    if (!this.resolver || !this.o.topology) {
      throw new MeshTraceError('USAGE', `--map ${ifName}=${target} needs a topology to map onto.`, { hint: 'Add --topology FILE (from `mesh-trace topology --json`, or a mesh-trace capture).' });
    }
    const parts = target.split('/');
    const candidates = this.o.topology.netns.filter((ns) => {
      if (parts.length >= 3) return ns.node === parts[0] && ns.display === parts[1];
      if (parts.length === 2) return ns.display === parts[0] || (sllIfindex !== undefined && ns.node === parts[0] && ns.display === parts[1]);
      return true;
    });
    const devName = parts.length >= 3 ? parts[2] : parts.length === 2 && sllIfindex === undefined ? parts[1] : parts[0];
    for (const ns of candidates) {
      const dev = sllIfindex !== undefined && parts.length === 2 ? ns.devices.find((d) => d.ifindex === sllIfindex) : ns.devices.find((d) => d.name === devName);
      if (!dev) continue;
      const resolved = this.resolver.resolve(ns.inode, dev.ifindex);
      return { inode: ns.inode, ifindex: dev.ifindex, resolved, label: { node: ns.node, netns: ns.display, device: dev.name }, mac: dev.mac?.toLowerCase() };
    }
    throw new MeshTraceError('NOT_FOUND', `--map ${ifName}=${target}: the topology has no such device.`, { hint: 'Use node/netns/device as `mesh-trace topology` shows them, e.g. node1/host/eth0.' });
  }
}
