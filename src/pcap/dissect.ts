// A captured frame → the headers mesh-trace records for a packet (the same fields the BPF
// programs read): IPv4/IPv6, TCP/UDP ports, TCP flags/seq/ack, IP ID and length, and for
// VXLAN the VNI and the encapsulated packet's headers. Bounds-checked throughout: a short
// or malformed frame yields what could be read, never an exception.
import { formatAddr } from '../events/addr.js';
import type { PacketHeaders } from '../events/decode.js';

export const LinkType = { NULL: 0, ETHERNET: 1, RAW: 101, RAW_ALT: 12, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276, LOOP: 108 } as const;

export const VXLAN_PORTS = new Set([4789, 8472]);

export interface Dissected {
  outer?: PacketHeaders;
  vni?: number;
  inner?: PacketHeaders;
  /** Linux cooked captures: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us */
  pktType?: number;
  /** SLL2 (tcpdump -i any): the interface the packet was seen on */
  ifindex?: number;
  /** Ethernet: the sender's MAC (tells the direction on a device whose MAC is known) */
  srcMac?: string;
  /** a cheap fingerprint of the L4 payload: tells apart datagrams whose headers agree */
  payloadHash: number;
  /** where the outer IP header starts in the frame */
  l3?: number;
}

function fnv(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** where the L3 packet starts and its ethertype, after link and VLAN headers */
function link(linktype: number, d: Uint8Array, out: Dissected): { off: number; ethertype: number } | undefined {
  const be16 = (o: number) => (d[o] << 8) | d[o + 1];
  switch (linktype) {
    case LinkType.ETHERNET:
      if (d.length >= 12) out.srcMac = Array.from(d.subarray(6, 12), (b) => b.toString(16).padStart(2, '0')).join(':');
      return ether(d, 0);
    case LinkType.LINUX_SLL:
      if (d.length < 16) return undefined;
      out.pktType = be16(0);
      return { off: 16, ethertype: be16(14) };
    case LinkType.LINUX_SLL2:
      if (d.length < 20) return undefined;
      out.ifindex = ((d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7]) >>> 0;
      out.pktType = d[10];
      return { off: 20, ethertype: be16(0) };
    case LinkType.RAW:
    case LinkType.RAW_ALT:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (!d.length) return undefined;
      return { off: 0, ethertype: d[0] >> 4 === 6 ? 0x86dd : 0x0800 };
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (d.length < 4) return undefined;
      return { off: 4, ethertype: d[4] >> 4 === 6 ? 0x86dd : 0x0800 };
    }
    default:
      return undefined;
  }
}

function ether(d: Uint8Array, off: number): { off: number; ethertype: number } | undefined {
  if (d.length < off + 14) return undefined;
  let et = (d[off + 12] << 8) | d[off + 13];
  let o = off + 14;
  // 802.1Q / 802.1ad tags
  while ((et === 0x8100 || et === 0x88a8) && d.length >= o + 4) {
    et = (d[o + 2] << 8) | d[o + 3];
    o += 4;
  }
  return { off: o, ethertype: et };
}

/** IP and L4 headers at off; `end` is where the L4 payload starts and stops */
function ip(d: Uint8Array, off: number, ethertype: number): { h: PacketHeaders; l4Off: number; payload: number; end: number } | undefined {
  const be16 = (o: number) => (d[o] << 8) | d[o + 1];
  const be32 = (o: number) => ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
  let h: PacketHeaders;
  let l4Off: number;
  let end: number;
  let fragment = false;
  if (ethertype === 0x0800) {
    if (d.length < off + 20 || d[off] >> 4 !== 4) return undefined;
    const ihl = (d[off] & 0x0f) * 4;
    if (ihl < 20 || d.length < off + ihl) return undefined;
    const total = be16(off + 2);
    fragment = (be16(off + 6) & 0x1fff) !== 0;
    h = { family: 4, saddr: formatAddr(d, off + 12, 4), daddr: formatAddr(d, off + 16, 4), proto: d[off + 9], l4: false, sport: 0, dport: 0, tcpFlags: 0, tcpSeq: 0, tcpAck: 0, ipId: be16(off + 4), ipLen: total, ttl: d[off + 8] };
    l4Off = off + ihl;
    end = Math.min(d.length, off + Math.max(total, ihl));
  } else if (ethertype === 0x86dd) {
    if (d.length < off + 40 || d[off] >> 4 !== 6) return undefined;
    const payloadLen = be16(off + 4);
    h = { family: 6, saddr: formatAddr(d, off + 8, 6), daddr: formatAddr(d, off + 24, 6), proto: d[off + 6], l4: false, sport: 0, dport: 0, tcpFlags: 0, tcpSeq: 0, tcpAck: 0, ipId: 0, ipLen: payloadLen + 40, ttl: d[off + 7] };
    l4Off = off + 40;
    end = Math.min(d.length, off + 40 + payloadLen);
    // extension headers (hop-by-hop, routing, destination options; fragment ends the walk)
    for (let guard = 0; guard < 8 && [0, 43, 60, 44].includes(h.proto) && d.length >= l4Off + 8; guard++) {
      if (h.proto === 44) {
        fragment = (be16(l4Off + 2) & 0xfff8) !== 0;
        h.ipId = be32(l4Off + 4) & 0xffff;
        h.proto = d[l4Off];
        l4Off += 8;
        break;
      }
      const next = d[l4Off];
      l4Off += (d[l4Off + 1] + 1) * 8;
      h.proto = next;
    }
  } else {
    return undefined;
  }
  let payload = l4Off;
  if (!fragment && (h.proto === 6 || h.proto === 17 || h.proto === 132) && d.length >= l4Off + 8) {
    h.sport = be16(l4Off);
    h.dport = be16(l4Off + 2);
    h.l4 = true;
    if (h.proto === 6) {
      if (d.length >= l4Off + 14) {
        h.tcpSeq = be32(l4Off + 4);
        h.tcpAck = be32(l4Off + 8);
        h.tcpFlags = d[l4Off + 13];
        payload = l4Off + ((d[l4Off + 12] >> 4) * 4 || 20);
      } else h.l4 = false;
    } else payload = l4Off + 8;
  }
  return { h, l4Off, payload: Math.min(payload, end), end };
}

export function dissect(linktype: number, d: Uint8Array): Dissected {
  const out: Dissected = { payloadHash: 0 };
  const l = link(linktype, d, out);
  if (!l) return out;
  const o = ip(d, l.off, l.ethertype);
  if (!o) return out;
  out.outer = o.h;
  out.l3 = l.off;
  out.payloadHash = fnv(d, o.payload, Math.min(o.end, o.payload + 64));
  if (o.h.proto === 17 && o.h.l4 && VXLAN_PORTS.has(o.h.dport) && o.end >= o.payload + 8 && d[o.payload] & 0x08) {
    const vx = o.payload;
    out.vni = (d[vx + 4] << 16) | (d[vx + 5] << 8) | d[vx + 6];
    const e = ether(d, vx + 8);
    const inner = e && ip(d, e.off, e.ethertype);
    if (inner) {
      out.inner = inner.h;
      out.payloadHash = fnv(d, inner.payload, Math.min(inner.end, inner.payload + 64));
    } else {
      out.vni = undefined;
    }
  }
  return out;
}
