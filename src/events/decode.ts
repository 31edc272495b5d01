// The only reader of the kernel's records: a batch is one Buffer of RECORD_SIZE-byte
// records, read in place through one DataView (no per-event copy). Accessors by index
// serve hot paths (correlation, counting); event(i) builds a plain object when wanted.
// With --snaplen, a second buffer holds the packet bytes that followed the records in the
// ring, in record order: record i owns caplen(i) of them (payload(i)).
import type { BatchLease } from './batch-lease.js';
import { EventType, Flag, HdrOff, Off, READABLE_EVENT_VERSIONS, RECORD_SIZE } from './layout.js';
import { dirName, Hook, hookName } from './hooks.js';
import { formatAddr } from './addr.js';
import { hash53, mixA, mixB } from './hash.js';

/** struct mt_headers: the bytes two records' headers are compared by */
const HEADER_SIZE = Off.inner - Off.outer;

/** READABLE_EVENT_VERSIONS as a table: valid(i) is on every hot path */
const readableVersion = new Uint8Array(256);
for (const v of READABLE_EVENT_VERSIONS) readableVersion[v] = 1;

export interface PacketHeaders {
  family: 4 | 6;
  saddr: string;
  daddr: string;
  proto: number;
  /** false when ports/TCP fields were not read (fragment, other protocol) */
  l4: boolean;
  sport: number;
  dport: number;
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  ipId: number;
  ipLen: number;
  ttl: number;
}

export interface PacketEvent {
  hook: number;
  hookName: string;
  dir: 'none' | 'ingress' | 'egress';
  cpu: number;
  /** CLOCK_MONOTONIC nanoseconds (as a float: exact to the ns for 104 days of uptime) */
  tsNs: number;
  /** the sk_buff address, hex: the packet's identity on its node */
  skb: string;
  netns: number;
  ifindex: number;
  len: number;
  mark: number;
  dropReason: number;
  aux: number;
  /** undefined for non-IP frames */
  outer?: PacketHeaders;
  /** VXLAN network identifier and the encapsulated packet */
  vni?: number;
  inner?: PacketHeaders;
  /** on IPVS NAT transmit: the virtual service, the real server it chose and the fwmark */
  ipvs?: { virtual: PacketHeaders; real: PacketHeaders; fwmark: number };
  /** the packet's bytes from its IP header on, when captured (--snaplen, or a pcap's packet).
   * event(i) leaves it out (EventBatch.payload(i) has it); encode.ts writes it */
  payload?: Uint8Array;
}

/** viewKind bits: the first code of every tupleKey (events/tuple-key.ts reads them) */
export const VIEW_V6 = 2;
export const VIEW_L4 = 1;

/** A connection tuple as numbers (EventBatch.readTuple); word 0 is 0 for "none". */
export type Tuple = Uint32Array;
export const TUPLE_WORDS = 10;
export function newTuple(): Tuple {
  return new Uint32Array(TUPLE_WORDS);
}

export class EventBatch {
  readonly length: number;
  private unknownCount = -1;
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  /** --snaplen bytes of every record, in record order (empty when none were captured) */
  private readonly payloadBuf: Uint8Array;
  /** payloadStart[i]: where record i's bytes start in payloadBuf; built at first use */
  private payloadStart?: Uint32Array;
  /** who lends the memory, to be told who points into it (a replay's read-ahead chunk) */
  lease: BatchLease | undefined = undefined;
  /** the skb address skb(i) last printed, and its text */
  private skbHi = -1;
  private skbLo = -1;
  private skbText = '';

  constructor(buf: Uint8Array, count?: number, payload?: Uint8Array) {
    // a plain Uint8Array view: Buffer's own subarray() is several times slower
    this.bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.payloadBuf = payload ?? new Uint8Array(0);
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const whole = Math.floor(buf.byteLength / RECORD_SIZE);
    this.length = count === undefined ? whole : Math.min(count, whole);
  }

  /** records whose type or version this build does not know (skipped, counted): counted
   * when asked, since a replay never asks (its recording carries the live run's count) */
  get unknown(): number {
    if (this.unknownCount < 0) {
      let n = 0;
      for (let i = 0; i < this.length; i++) if (!this.valid(i)) n++;
      this.unknownCount = n;
    }
    return this.unknownCount;
  }

  valid(i: number): boolean {
    const o = i * RECORD_SIZE;
    return this.bytes[o + Off.type] === EventType.PACKET && readableVersion[this.bytes[o + Off.version]] === 1;
  }
  hook(i: number): number {
    return this.bytes[i * RECORD_SIZE + Off.hook];
  }
  dir(i: number): number {
    return this.bytes[i * RECORD_SIZE + Off.dir];
  }
  flags(i: number): number {
    return this.dv.getUint16(i * RECORD_SIZE + Off.flags, true);
  }
  tsNs(i: number): number {
    const o = i * RECORD_SIZE + Off.ts_ns;
    return this.dv.getUint32(o + 4, true) * 4294967296 + this.dv.getUint32(o, true);
  }
  skb(i: number): string {
    const o = i * RECORD_SIZE + Off.skb;
    const hi = this.dv.getUint32(o + 4, true);
    const lo = this.dv.getUint32(o, true);
    // the records of one packet are read one after another: print its address once
    if (hi !== this.skbHi || lo !== this.skbLo) {
      this.skbHi = hi;
      this.skbLo = lo;
      this.skbText = hi.toString(16) + lo.toString(16).padStart(8, '0');
    }
    return this.skbText;
  }
  netns(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.netns, true);
  }
  ifindex(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.ifindex, true);
  }
  len(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.len, true);
  }
  mark(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.mark, true);
  }
  dropReason(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.drop_reason, true);
  }
  aux(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.aux, true);
  }
  /** the VXLAN network identifier; -1 unless encapsulated */
  vni(i: number): number {
    return this.encapsulated(i) ? this.dv.getUint32(i * RECORD_SIZE + Off.vni, true) : -1;
  }
  dport(i: number, inner = false): number {
    return this.dv.getUint16(i * RECORD_SIZE + (inner ? Off.inner : Off.outer) + HdrOff.dport, true);
  }
  sport(i: number, inner = false): number {
    return this.dv.getUint16(i * RECORD_SIZE + (inner ? Off.inner : Off.outer) + HdrOff.sport, true);
  }

  proto(i: number, inner = false): number {
    return this.bytes[i * RECORD_SIZE + (inner ? Off.inner : Off.outer) + HdrOff.proto];
  }
  /** the 16 address bytes (IPv4 in the first 4) of the outer or inner source or destination */
  addr(i: number, inner: boolean, which: 'saddr' | 'daddr'): Uint8Array {
    const o = i * RECORD_SIZE + (inner ? Off.inner : Off.outer) + HdrOff[which];
    return this.bytes.subarray(o, o + 16);
  }
  /** The skb address's low 48 bits, as a number: the same identity as skb(i) (kernel
   * addresses differ only below bit 48), without building a string per event. */
  skbKey(i: number): number {
    const o = i * RECORD_SIZE + Off.skb;
    return (this.dv.getUint32(o + 4, true) & 0xffff) * 4294967296 + this.dv.getUint32(o, true);
  }

  /** Where the headers that describe the packet itself start (the inner ones once
   * VXLAN-encapsulated: view(i)); -1 for a frame without IP.
   * The *At(o) readers take it, so a hot path reads the flags once. */
  viewOff(i: number): number {
    const flags = this.flags(i);
    if (flags & Flag.ENCAP) return i * RECORD_SIZE + Off.inner;
    return flags & Flag.NO_L3 ? -1 : i * RECORD_SIZE + Off.outer;
  }
  /** Those headers' family and whether their ports were read: VIEW_V6 | VIEW_L4 bits
   * (meaningless without IP). Also the first code of a tupleKey. */
  viewKind(i: number): number {
    const flags = this.flags(i);
    if (flags & Flag.ENCAP) return (flags & Flag.INNER_V6 ? VIEW_V6 : 0) | (flags & Flag.INNER_L4 ? VIEW_L4 : 0);
    return (flags & Flag.IPV6 ? VIEW_V6 : 0) | (flags & Flag.L4 ? VIEW_L4 : 0);
  }
  /** whether record i is VXLAN-encapsulated (vni and inner headers valid) */
  encapsulated(i: number): boolean {
    return !!(this.flags(i) & Flag.ENCAP);
  }
  /** whether the packet's own ports and TCP fields were read */
  viewL4(i: number): boolean {
    return this.viewOff(i) >= 0 && !!(this.viewKind(i) & VIEW_L4);
  }
  /** at a view offset (viewOff, not -1): protocol, TCP sequence and flags, IP length */
  protoAt(o: number): number {
    return this.bytes[o + HdrOff.proto];
  }
  tcpSeqAt(o: number): number {
    return this.dv.getUint32(o + HdrOff.tcp_seq, true);
  }
  tcpFlagsAt(o: number): number {
    return this.bytes[o + HdrOff.tcp_flags];
  }
  ipLenAt(o: number): number {
    return this.dv.getUint16(o + HdrOff.ip_len, true);
  }

  /** Copies the packet's own connection tuple (family, protocol, addresses, ports when
   * read) into t: what directedKey() prints, as numbers, so consecutive events of one
   * packet compare without building strings. */
  readTuple(i: number, t: Tuple): void {
    const o = this.viewOff(i);
    if (o < 0) {
      t[0] = 0;
      return;
    }
    const kind = this.viewKind(i);
    t[0] = 0x100 | kind | (this.bytes[o + HdrOff.proto] << 2);
    const words = kind & VIEW_V6 ? 4 : 1;
    for (let w = 0; w < 4; w++) {
      t[1 + w] = w < words ? this.dv.getUint32(o + HdrOff.saddr + 4 * w, true) : 0;
      t[5 + w] = w < words ? this.dv.getUint32(o + HdrOff.daddr + 4 * w, true) : 0;
    }
    t[9] = kind & VIEW_L4 ? this.dv.getUint32(o + HdrOff.sport, true) : 0;
  }
  /** whether record i's tuple is the one in t (readTuple's) */
  sameTuple(i: number, t: Tuple): boolean {
    const o = this.viewOff(i);
    if (o < 0 || t[0] === 0) return false;
    const kind = this.viewKind(i);
    if (t[0] !== (0x100 | kind | (this.bytes[o + HdrOff.proto] << 2))) return false;
    if (kind & VIEW_L4 && t[9] !== this.dv.getUint32(o + HdrOff.sport, true)) return false;
    const words = kind & VIEW_V6 ? 4 : 1;
    for (let w = 0; w < words; w++) {
      if (t[1 + w] !== this.dv.getUint32(o + HdrOff.saddr + 4 * w, true)) return false;
      if (t[5 + w] !== this.dv.getUint32(o + HdrOff.daddr + 4 * w, true)) return false;
    }
    return true;
  }

  /** Whether record i is of record j's skb, with its flags and its own headers (addresses,
   * ports, protocol, TCP sequence, acknowledgement and flags, IP ID and length; not the
   * TTL, nor where or when it was seen): the records
   * of one packet between two rewrites, which a probe hands over one after another. */
  repeats(i: number, j: number): boolean {
    const dv = this.dv;
    const o = i * RECORD_SIZE;
    const p = j * RECORD_SIZE;
    if (dv.getUint32(o + Off.skb, true) !== dv.getUint32(p + Off.skb, true)) return false;
    if (dv.getUint32(o + Off.skb + 4, true) !== dv.getUint32(p + Off.skb + 4, true)) return false;
    const flags = dv.getUint16(o + Off.flags, true);
    if (flags !== dv.getUint16(p + Off.flags, true)) return false;
    if (flags & Flag.NO_L3) return true;
    const v = flags & Flag.ENCAP ? Off.inner : Off.outer;
    const a = o + v;
    const b = p + v;
    // an IPv4 address is the first word of its 16 bytes
    const v6 = flags & Flag.ENCAP ? flags & Flag.INNER_V6 : flags & Flag.IPV6;
    const addrWords = v6 ? 16 : 4;
    for (let k = 0; k < addrWords; k += 4) {
      if (dv.getUint32(a + HdrOff.saddr + k, true) !== dv.getUint32(b + HdrOff.saddr + k, true)) return false;
      if (dv.getUint32(a + HdrOff.daddr + k, true) !== dv.getUint32(b + HdrOff.daddr + k, true)) return false;
    }
    // tcp_seq, tcp_ack, the ports, ip_id with proto and tcp_flags: whole words; then ip_len
    // alone (the TTL after it drops at every router)
    for (let k = HdrOff.tcp_seq; k < HdrOff.ip_len; k += 4) if (dv.getUint32(a + k, true) !== dv.getUint32(b + k, true)) return false;
    return dv.getUint16(a + HdrOff.ip_len, true) === dv.getUint16(b + HdrOff.ip_len, true);
  }

  /** whether record i's tupleKey is `key`, without building it: the packet a journey
   * followed into another namespace mostly carries the key it left the last one with */
  hasTupleKey(i: number, key: string): boolean {
    const o = this.viewOff(i);
    if (o < 0) return key === '';
    const kind = this.viewKind(i);
    const words = kind & VIEW_V6 ? 8 : 2;
    if (key.length !== 4 + 2 * words || key.charCodeAt(0) !== kind || key.charCodeAt(1) !== this.bytes[o + HdrOff.proto]) return false;
    const dv = this.dv;
    for (let w = 0; w < words; w++) {
      if (key.charCodeAt(2 + w) !== dv.getUint16(o + HdrOff.saddr + 2 * w, false)) return false;
      if (key.charCodeAt(2 + words + w) !== dv.getUint16(o + HdrOff.daddr + 2 * w, false)) return false;
    }
    const l4 = kind & VIEW_L4;
    return key.charCodeAt(2 + 2 * words) === (l4 ? dv.getUint16(o + HdrOff.sport, true) : 0) && key.charCodeAt(3 + 2 * words) === (l4 ? dv.getUint16(o + HdrOff.dport, true) : 0);
  }

  /** The packet's own directed tuple as a short flat string (tuple-key.ts reads it):
   * viewKind, protocol, addresses as 16-bit words, ports (0 when not read). Equal keys ⇔
   * equal printed tuples, without printing anything. "" without IP. */
  tupleKey(i: number): string {
    const o = this.viewOff(i);
    if (o < 0) return '';
    const kind = this.viewKind(i);
    const proto = this.bytes[o + HdrOff.proto];
    const sp = kind & VIEW_L4 ? this.dv.getUint16(o + HdrOff.sport, true) : 0;
    const dp = kind & VIEW_L4 ? this.dv.getUint16(o + HdrOff.dport, true) : 0;
    const s = o + HdrOff.saddr;
    const d = o + HdrOff.daddr;
    const w = (at: number): number => this.dv.getUint16(at, false);
    if (!(kind & VIEW_V6)) return String.fromCharCode(kind, proto, w(s), w(s + 2), w(d), w(d + 2), sp, dp);
    return String.fromCharCode(
      kind, proto,
      w(s), w(s + 2), w(s + 4), w(s + 6), w(s + 8), w(s + 10), w(s + 12), w(s + 14),
      w(d), w(d + 2), w(d + 4), w(d + 6), w(d + 8), w(d + 10), w(d + 12), w(d + 14),
      sp, dp,
    );
  }

  /** One datagram on clock number `clock`, as a number: the same bytes seen on a clone, or
   * before and after a tunnel. It covers what sameDatagram compares (the packet's own
   * tuple, IP ID and length, TCP seq/ack/flags), hashed into 53 bits: a number keys a Map
   * without building a string per record, and equal datagrams always hash alike (a match
   * that matters is confirmed with sameDatagram). */
  datagramHash(i: number, clock: number): number {
    const o = this.viewOff(i);
    if (o < 0) return -1;
    const dv = this.dv;
    const kind = this.viewKind(i);
    const proto = this.bytes[o + HdrOff.proto];
    const tcp = proto === 6;
    let a = 0x2545f491 ^ clock;
    let c = 0x9e3779b9 ^ Math.imul(clock, 0x85ebca6b);
    let w = kind | (proto << 8) | (tcp ? this.bytes[o + HdrOff.tcp_flags] << 16 : 0);
    a = mixA(a, w);
    c = mixB(c, w);
    w = dv.getUint16(o + HdrOff.ip_id, true) | (dv.getUint16(o + HdrOff.ip_len, true) << 16);
    a = mixA(a, w);
    c = mixB(c, w);
    if (tcp) {
      w = dv.getUint32(o + HdrOff.tcp_seq, true);
      a = mixA(a, w);
      c = mixB(c, w);
      w = dv.getUint32(o + HdrOff.tcp_ack, true);
      a = mixA(a, w);
      c = mixB(c, w);
    }
    const words = kind & VIEW_V6 ? 4 : 1;
    for (let k = 0; k < words; k++) {
      w = dv.getUint32(o + HdrOff.saddr + 4 * k, true);
      a = mixA(a, w);
      c = mixB(c, w);
      w = dv.getUint32(o + HdrOff.daddr + 4 * k, true);
      a = mixA(a, w);
      c = mixB(c, w);
    }
    if (kind & VIEW_L4) {
      w = dv.getUint32(o + HdrOff.sport, true);
      a = mixA(a, w);
      c = mixB(c, w);
    }
    return hash53(a, c);
  }

  /** whether record i and record j of `other` carry the same datagram (datagramHash's
   * fields, compared) */
  sameDatagram(i: number, other: EventBatch, j: number): boolean {
    const o = this.viewOff(i);
    const p = other.viewOff(j);
    if (o < 0 || p < 0) return false;
    const kind = this.viewKind(i);
    const proto = this.bytes[o + HdrOff.proto];
    if (kind !== other.viewKind(j) || proto !== other.bytes[p + HdrOff.proto]) return false;
    const a = this.dv;
    const b = other.dv;
    const u16 = (at: number): boolean => a.getUint16(o + at, true) === b.getUint16(p + at, true);
    const u32 = (at: number): boolean => a.getUint32(o + at, true) === b.getUint32(p + at, true);
    if (!u16(HdrOff.ip_id) || !u16(HdrOff.ip_len)) return false;
    if (proto === 6 && (!u32(HdrOff.tcp_seq) || !u32(HdrOff.tcp_ack) || this.bytes[o + HdrOff.tcp_flags] !== other.bytes[p + HdrOff.tcp_flags])) return false;
    const words = kind & VIEW_V6 ? 4 : 1;
    for (let w = 0; w < words; w++) if (!u32(HdrOff.saddr + 4 * w) || !u32(HdrOff.daddr + 4 * w)) return false;
    return !(kind & VIEW_L4) || u32(HdrOff.sport);
  }

  /** The headers that describe the packet itself (the inner ones once encapsulated),
   * decoded; undefined without IP. `like`, the view of record likeIndex of
   * likeBatch, is returned instead when its bytes are the same: consecutive records of a
   * packet mostly repeat its headers, and the object is read, never changed. */
  view(i: number, like?: PacketHeaders, likeBatch?: EventBatch, likeIndex = 0): PacketHeaders | undefined {
    const o = this.viewOff(i);
    if (o < 0) return undefined;
    const kind = this.viewKind(i);
    if (like && likeBatch && likeBatch.viewKind(likeIndex) === kind) {
      const lo = likeBatch.viewOff(likeIndex);
      if (lo >= 0 && this.sameHeaderBytes(o, likeBatch, lo, !(kind & VIEW_V6))) return like;
    }
    return this.headers(o, kind & VIEW_V6 ? 6 : 4, !!(kind & VIEW_L4));
  }
  /** the outer headers of an encapsulated record (the tunnel's UDP datagram), or of any
   * record with IP; undefined without */
  outer(i: number): PacketHeaders | undefined {
    const flags = this.flags(i);
    if (flags & Flag.NO_L3) return undefined;
    return this.headers(i * RECORD_SIZE + Off.outer, flags & Flag.IPV6 ? 6 : 4, !!(flags & Flag.L4));
  }
  /** at an IPVS NAT transmit: the virtual service, the real server it chose and the fwmark */
  ipvs(i: number): PacketEvent['ipvs'] {
    if (this.hook(i) !== Hook.IPVS_NAT_XMIT) return undefined;
    const outer = this.outer(i);
    if (!outer) return undefined;
    const conn = this.headers(i * RECORD_SIZE + Off.inner, outer.family, true);
    const real = { ...conn, saddr: outer.saddr, sport: outer.sport };
    const virtual = { ...conn, daddr: conn.saddr, dport: conn.sport, saddr: outer.saddr, sport: outer.sport };
    return { virtual, real, fwmark: this.aux(i) };
  }

  /** all records, as the kernel wrote them (a view): what a recording stores */
  raw(): Uint8Array {
    return this.bytes.subarray(0, this.length * RECORD_SIZE);
  }

  /** copies record i into dst at byte offset `at` */
  copyRecord(i: number, dst: Uint8Array, at: number): void {
    dst.set(this.bytes.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), at);
  }

  /** copies records from to end (not included) into dst at byte offset `at` */
  copyRecords(from: number, end: number, dst: Uint8Array, at: number): void {
    dst.set(this.bytes.subarray(from * RECORD_SIZE, end * RECORD_SIZE), at);
  }

  /** the raw bytes of record i (a view, not a copy): for recordings */
  record(i: number): Uint8Array {
    return this.bytes.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE);
  }

  /** packet bytes captured after record i (--snaplen); 0 without (and in version-1 records) */
  caplen(i: number): number {
    return this.dv.getUint32(i * RECORD_SIZE + Off.caplen, true);
  }

  /** record i's packet bytes from its IP header on (a view), empty when none were captured */
  payload(i: number): Uint8Array {
    if (!this.payloadBuf.byteLength) return this.payloadBuf;
    const start = this.payloadIndex()[i];
    const end = Math.min(start + this.caplen(i), this.payloadBuf.byteLength);
    return this.payloadBuf.subarray(Math.min(start, end), end);
  }

  /** every record's packet bytes, as the addon handed them over: what a recording stores */
  rawPayload(): Uint8Array {
    return this.payloadBuf;
  }

  /** the sum of every record's caplen: what rawPayload() must hold */
  payloadLength(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) n += this.caplen(i);
    return n;
  }

  private payloadIndex(): Uint32Array {
    if (!this.payloadStart) {
      const idx = new Uint32Array(this.length);
      let at = 0;
      for (let i = 0; i < this.length; i++) {
        idx[i] = at;
        at += this.caplen(i);
      }
      this.payloadStart = idx;
    }
    return this.payloadStart;
  }

  /** Record i, decoded. `like`, decoded from record likeIndex of likeBatch, lends its
   * header objects where the bytes are the same (decoded events are read, never changed). */
  event(i: number, like?: PacketEvent, likeBatch?: EventBatch, likeIndex?: number): PacketEvent {
    const o = i * RECORD_SIZE;
    const dv = this.dv;
    const flags = dv.getUint16(o + Off.flags, true);
    const hook = this.bytes[o + Off.hook];
    const ev: PacketEvent = {
      hook,
      hookName: hookName[hook] ?? `hook-${hook}`,
      dir: dirName[this.bytes[o + Off.dir]] ?? 'none',
      cpu: dv.getUint16(o + Off.cpu, true),
      tsNs: this.tsNs(i),
      skb: this.skb(i),
      netns: dv.getUint32(o + Off.netns, true),
      ifindex: dv.getUint32(o + Off.ifindex, true),
      len: dv.getUint32(o + Off.len, true),
      mark: dv.getUint32(o + Off.mark, true),
      dropReason: dv.getUint32(o + Off.drop_reason, true),
      aux: dv.getUint32(o + Off.aux, true),
      // every field in the literal, set or not: one added later would go to a property
      // array of its own, an allocation per event (JSON leaves the undefined ones out)
      outer: undefined,
      vni: undefined,
      inner: undefined,
      ipvs: undefined,
    };
    // the records of one packet mostly repeat the headers of the one before: share them
    const sameAsLast = like !== undefined && likeBatch !== undefined && likeIndex !== undefined && likeBatch.flags(likeIndex) === flags;
    if (!(flags & Flag.NO_L3)) {
      ev.outer = sameAsLast && like.outer && this.sameHeaderBytes(o + Off.outer, likeBatch, likeIndex * RECORD_SIZE + Off.outer, !(flags & Flag.IPV6))
        ? like.outer
        : this.headers(o + Off.outer, flags & Flag.IPV6 ? 6 : 4, !!(flags & Flag.L4));
    }
    if (flags & Flag.ENCAP) {
      ev.vni = dv.getUint32(o + Off.vni, true);
      ev.inner = sameAsLast && like.inner && this.sameHeaderBytes(o + Off.inner, likeBatch, likeIndex * RECORD_SIZE + Off.inner, !(flags & Flag.INNER_V6))
        ? like.inner
        : this.headers(o + Off.inner, flags & Flag.INNER_V6 ? 6 : 4, !!(flags & Flag.INNER_L4));
    }
    if (hook === Hook.IPVS_NAT_XMIT) ev.ipvs = this.ipvs(i);
    return ev;
  }

  *events(): IterableIterator<PacketEvent> {
    for (let i = 0; i < this.length; i++) if (this.valid(i)) yield this.event(i);
  }

  /** whether the headers at o and at oo of `other` decode alike: of IPv4 addresses only the
   * first word is read (the rest of their 16 bytes is nothing headers() looks at) */
  private sameHeaderBytes(o: number, other: EventBatch, oo: number, v4: boolean): boolean {
    const a = this.dv;
    const b = other.dv;
    if (v4) {
      if (a.getUint32(o + HdrOff.saddr, true) !== b.getUint32(oo + HdrOff.saddr, true)) return false;
      if (a.getUint32(o + HdrOff.daddr, true) !== b.getUint32(oo + HdrOff.daddr, true)) return false;
    } else {
      for (let k = 0; k < HdrOff.tcp_seq; k += 4) if (a.getUint32(o + k, true) !== b.getUint32(oo + k, true)) return false;
    }
    for (let k = HdrOff.tcp_seq; k < HEADER_SIZE; k += 4) if (a.getUint32(o + k, true) !== b.getUint32(oo + k, true)) return false;
    return true;
  }

  private headers(o: number, family: 4 | 6, l4: boolean): PacketHeaders {
    const dv = this.dv;
    return {
      family,
      saddr: formatAddr(this.bytes, o + HdrOff.saddr, family),
      daddr: formatAddr(this.bytes, o + HdrOff.daddr, family),
      proto: this.bytes[o + HdrOff.proto],
      l4,
      sport: dv.getUint16(o + HdrOff.sport, true),
      dport: dv.getUint16(o + HdrOff.dport, true),
      tcpFlags: this.bytes[o + HdrOff.tcp_flags],
      tcpSeq: dv.getUint32(o + HdrOff.tcp_seq, true),
      tcpAck: dv.getUint32(o + HdrOff.tcp_ack, true),
      ipId: dv.getUint16(o + HdrOff.ip_id, true),
      ipLen: dv.getUint16(o + HdrOff.ip_len, true),
      ttl: this.bytes[o + HdrOff.ttl],
    };
  }
}

export function decodeBatch(buf: Uint8Array, count?: number): PacketEvent[] {
  return [...new EventBatch(buf, count).events()];
}
