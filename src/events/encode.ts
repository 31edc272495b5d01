// PacketEvent → the kernel's record bytes: the inverse of decode.ts, for events that did
// not come from the kernel (packets read from a pcap) so they travel the same road as
// live ones, and for tests that need real records. Lives here because src/events alone
// knows the layout.
import { EVENT_VERSION, EventType, Flag, HdrOff, Off, RECORD_SIZE } from './layout.js';
import { Hook } from './hooks.js';
import { parseCidr } from './addr.js';
import type { PacketEvent, PacketHeaders } from './decode.js';

const DIR = { none: 0, ingress: 1, egress: 2 } as const;

function writeHeaders(buf: Uint8Array, dv: DataView, o: number, h: PacketHeaders): void {
  const s = parseCidr(h.saddr);
  const d = parseCidr(h.daddr);
  if (s) buf.set(s.bytes.subarray(0, h.family === 4 ? 4 : 16), o + HdrOff.saddr);
  if (d) buf.set(d.bytes.subarray(0, h.family === 4 ? 4 : 16), o + HdrOff.daddr);
  dv.setUint32(o + HdrOff.tcp_seq, h.tcpSeq >>> 0, true);
  dv.setUint32(o + HdrOff.tcp_ack, h.tcpAck >>> 0, true);
  dv.setUint16(o + HdrOff.sport, h.sport, true);
  dv.setUint16(o + HdrOff.dport, h.dport, true);
  dv.setUint16(o + HdrOff.ip_id, h.ipId, true);
  buf[o + HdrOff.proto] = h.proto;
  buf[o + HdrOff.tcp_flags] = h.tcpFlags;
  dv.setUint16(o + HdrOff.ip_len, h.ipLen, true);
  buf[o + HdrOff.ttl] = h.ttl;
}

/** writes ev as record `index` of buf (which holds whole records); dv views buf */
export function encodeEvent(ev: PacketEvent, buf: Uint8Array, index: number, dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)): void {
  const o = index * RECORD_SIZE;
  buf.fill(0, o, o + RECORD_SIZE);
  buf[o + Off.type] = EventType.PACKET;
  buf[o + Off.version] = EVENT_VERSION;
  buf[o + Off.hook] = ev.hook;
  buf[o + Off.dir] = DIR[ev.dir];
  dv.setUint16(o + Off.cpu, ev.cpu, true);
  let flags = 0;
  if (!ev.outer) flags |= Flag.NO_L3;
  else {
    if (ev.outer.family === 6) flags |= Flag.IPV6;
    if (ev.outer.l4) flags |= Flag.L4;
    writeHeaders(buf, dv, o + Off.outer, ev.outer);
  }
  if (ev.vni !== undefined && ev.inner) {
    flags |= Flag.ENCAP;
    if (ev.inner.family === 6) flags |= Flag.INNER_V6;
    if (ev.inner.l4) flags |= Flag.INNER_L4;
    dv.setUint32(o + Off.vni, ev.vni, true);
    writeHeaders(buf, dv, o + Off.inner, ev.inner);
  }
  dv.setUint16(o + Off.flags, flags, true);
  dv.setUint32(o + Off.ts_ns, ev.tsNs % 4294967296, true);
  dv.setUint32(o + Off.ts_ns + 4, Math.floor(ev.tsNs / 4294967296), true);
  const skb = ev.skb.padStart(16, '0');
  dv.setUint32(o + Off.skb, parseInt(skb.slice(8), 16), true);
  dv.setUint32(o + Off.skb + 4, parseInt(skb.slice(0, 8), 16), true);
  dv.setUint32(o + Off.netns, ev.netns >>> 0, true);
  dv.setUint32(o + Off.ifindex, ev.ifindex >>> 0, true);
  dv.setUint32(o + Off.len, ev.len >>> 0, true);
  dv.setUint32(o + Off.mark, ev.mark >>> 0, true);
  dv.setUint32(o + Off.drop_reason, ev.dropReason >>> 0, true);
  dv.setUint32(o + Off.aux, ev.aux >>> 0, true);
  dv.setUint32(o + Off.caplen, ev.payload?.byteLength ?? 0, true);
  if (ev.hook === Hook.IPVS_NAT_XMIT && ev.ipvs) {
    // the connection's tuple as the kernel writes it: virtual service as the source side
    const c = ev.ipvs.real;
    writeHeaders(buf, dv, o + Off.inner, { ...c, saddr: ev.ipvs.virtual.daddr, sport: ev.ipvs.virtual.dport });
  }
}

/** records and the payload buffer (every event's `payload`, in order) for a list of
 * events, ready for `new EventBatch(records, undefined, payload)` */
export function encodeEventsWithPayload(events: PacketEvent[]): { records: Uint8Array; payload: Uint8Array } {
  const records = encodeEvents(events);
  const payload = new Uint8Array(events.reduce((n, e) => n + (e.payload?.byteLength ?? 0), 0));
  let at = 0;
  for (const e of events) {
    if (!e.payload) continue;
    payload.set(e.payload, at);
    at += e.payload.byteLength;
  }
  return { records, payload };
}

/** records for a list of events, ready for `new EventBatch(...)`; payloads are counted in
 * each record's caplen but not carried (encodeEventsWithPayload carries them) */
export function encodeEvents(events: PacketEvent[]): Uint8Array {
  const buf = new Uint8Array(events.length * RECORD_SIZE);
  const dv = new DataView(buf.buffer);
  events.forEach((e, i) => encodeEvent(e, buf, i, dv));
  return buf;
}
