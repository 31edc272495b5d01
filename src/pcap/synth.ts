// A hop's headers → the bytes of an IP packet carrying them (IPv4 or IPv6, then TCP, UDP
// or nothing), for pcapng export: mesh-trace records headers, not payload, so a packet
// is its headers; the original length says how long it was.
import { parseCidr } from '../events/addr.js';
import { splitEndpoint } from '../correlate/tuple.js';
import type { HopHeaders } from '../correlate/model.js';

const PROTO: Record<string, number> = { ICMP: 1, TCP: 6, UDP: 17, ICMPv6: 58, SCTP: 132 };
const TCP_FLAG: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, '.': 0x10, U: 0x20, E: 0x40, W: 0x80 };

function checksum(b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** the packet, or undefined when its addresses cannot be read back */
export function packetBytes(h: HopHeaders): Uint8Array | undefined {
  const s = splitEndpoint(h.src);
  const d = splitEndpoint(h.dst);
  const sa = parseCidr(s.addr);
  const da = parseCidr(d.addr);
  if (!sa || !da || sa.v6 !== da.v6) return undefined;
  const proto = PROTO[h.proto] ?? (Number(h.proto) || 0);
  const l4 = proto === 6 ? 20 : proto === 17 ? 8 : 0;
  const v6 = sa.v6;
  const ipHdr = v6 ? 40 : 20;
  const b = new Uint8Array(ipHdr + l4);
  const dv = new DataView(b.buffer);
  if (v6) {
    b[0] = 0x60;
    dv.setUint16(4, Math.max(0, h.len - 40), false);
    b[6] = proto;
    b[7] = 64;
    b.set(sa.bytes, 8);
    b.set(da.bytes, 24);
  } else {
    b[0] = 0x45;
    dv.setUint16(2, h.len || ipHdr + l4, false);
    dv.setUint16(4, h.ip_id, false);
    dv.setUint16(6, 0x4000, false); // DF, as Linux sends TCP
    b[8] = 64;
    b[9] = proto;
    b.set(sa.bytes.subarray(0, 4), 12);
    b.set(da.bytes.subarray(0, 4), 16);
    dv.setUint16(10, checksum(b, 0, 20), false);
  }
  if (l4) {
    dv.setUint16(ipHdr, Number(s.port ?? 0), false);
    dv.setUint16(ipHdr + 2, Number(d.port ?? 0), false);
    if (proto === 6) {
      dv.setUint32(ipHdr + 4, (h.seq ?? 0) >>> 0, false);
      dv.setUint32(ipHdr + 8, (h.ack ?? 0) >>> 0, false);
      b[ipHdr + 12] = 5 << 4;
      let flags = 0;
      for (const ch of h.flags ?? '') flags |= TCP_FLAG[ch] ?? 0;
      if (h.ack) flags |= 0x10;
      b[ipHdr + 13] = flags;
      dv.setUint16(ipHdr + 14, 65535, false);
    } else {
      dv.setUint16(ipHdr + 4, Math.max(8, h.len - ipHdr), false);
    }
  }
  return b;
}
