// pcap and pcapng files → packets with their interface, read synchronously in chunks.
// Every structural check names the byte offset where the file stops making sense, so a
// damaged capture gives one clear error, never a crash, never a hang (every loop advances
// by a length that was checked to be positive and inside the file).
import { closeSync, readSync } from 'node:fs';
import { MeshTraceError } from '../errors.js';
import { openInput } from '../capture/input-file.js';

export interface PcapInterface {
  /** pcapng: the interface's name (if_name), when the capturing tool wrote one */
  name?: string;
  description?: string;
  linktype: number;
  /** timestamp units per second */
  tsPerSec: number;
}

export interface PcapPacket {
  iface: number;
  /** the timestamp as whole seconds since the epoch and nanoseconds within the second
   * (as one float, nanoseconds since the epoch would lose everything below ~250 ns) */
  sec: number;
  nsec: number;
  data: Uint8Array;
  origLen: number;
  /** pcapng epb_flags direction: 1 inbound, 2 outbound, 0 unknown */
  direction: 0 | 1 | 2;
  offset: number;
}

export type PcapKind = 'pcap' | 'pcapng';

export function pcapKind(head: Uint8Array): PcapKind | undefined {
  if (head.byteLength < 4) return undefined;
  const m = Buffer.from(head.subarray(0, 4)).readUInt32LE(0);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'pcap';
  if (m === 0x0a0d0d0a) return 'pcapng';
  return undefined;
}

const CHUNK = 4 << 20;
/** no sane packet is larger (a 256 KiB snaplen is the largest tools use) */
const MAX_BLOCK = 16 << 20;

function bad(path: string, offset: number, what: string): MeshTraceError {
  return new MeshTraceError('BAD_INPUT', `${path} is damaged at byte ${offset}: ${what}.`, {
    hint: 'The packets before that offset were read; check the file with `capinfos` or `tshark -r`.',
  });
}

/** a file read forward through a window, as bounds-checked slices */
class Window {
  private buf = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}
  /** bytes [off, off+n), or undefined when the file ends first. A refill reads into a new
   * buffer, so slices handed out earlier stay valid (packets are not copied). */
  at(off: number, n: number): Buffer | undefined {
    if (off + n > this.size) return undefined;
    if (off < this.start || off + n > this.start + this.buf.byteLength) {
      const want = Math.max(n, CHUNK);
      const b = Buffer.allocUnsafe(Math.min(want, this.size - off));
      let filled = 0;
      while (filled < b.byteLength) {
        const got = readSync(this.fd, b, filled, b.byteLength - filled, off + filled);
        if (got === 0) break;
        filled += got;
      }
      this.buf = b.subarray(0, filled);
      this.start = off;
      if (filled < n) return undefined;
    }
    return this.buf.subarray(off - this.start, off - this.start + n);
  }
}

export class PcapReader {
  readonly kind: PcapKind;
  readonly interfaces: PcapInterface[] = [];
  readonly size: number;
  position = 0;
  private readonly fd: number;
  private readonly win: Window;
  private le = true;

  constructor(readonly path: string) {
    const input = openInput(path);
    this.fd = input.fd;
    this.win = new Window(this.fd, input.size);
    this.size = this.win.size;
    const head = this.win.at(0, 4);
    const kind = head && pcapKind(head);
    if (!kind) {
      this.close();
      throw new MeshTraceError('BAD_INPUT', `${path} is not a pcap or pcapng file.`);
    }
    this.kind = kind;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed */
    }
  }

  *packets(): IterableIterator<PcapPacket> {
    if (this.kind === 'pcap') yield* this.pcap();
    else yield* this.pcapng();
  }

  private u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }
  private u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  private *pcap(): IterableIterator<PcapPacket> {
    const h = this.win.at(0, 24);
    if (!h) throw bad(this.path, 0, `the pcap file header is cut short (${this.size} of 24 bytes)`);
    const magic = h.readUInt32LE(0);
    this.le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    const major = this.u16(h, 4);
    if (major !== 2) throw bad(this.path, 4, `pcap version ${major}.${this.u16(h, 6)} (only 2.x exists)`);
    const snaplen = this.u32(h, 16);
    const linktype = this.u32(h, 20) & 0x0fffffff;
    this.interfaces.push({ linktype, tsPerSec: nanos ? 1e9 : 1e6 });
    let off = 24;
    for (;;) {
      this.position = off;
      if (off === this.size) return;
      const r = this.win.at(off, 16);
      if (!r) throw bad(this.path, off, `a packet record header is cut short (${this.size - off} of 16 bytes) — the capture was cut off`);
      const sec = this.u32(r, 0);
      const frac = this.u32(r, 4);
      const incl = this.u32(r, 8);
      const orig = this.u32(r, 12);
      if (incl > MAX_BLOCK || (snaplen > 0 && incl > Math.max(snaplen, 262144))) throw bad(this.path, off, `a packet record claims ${incl} captured bytes (snaplen ${snaplen})`);
      const data = this.win.at(off + 16, incl);
      if (!data) throw bad(this.path, off, `a packet of ${incl} bytes is cut short (${this.size - off - 16} remain) — the capture was cut off`);
      yield { iface: 0, sec, nsec: Math.min(999_999_999, frac * (nanos ? 1 : 1e3)), data, origLen: orig, direction: 0, offset: off };
      off += 16 + incl;
    }
  }

  private *pcapng(): IterableIterator<PcapPacket> {
    let off = 0;
    let ifaceBase = 0;
    let sections = 0;
    for (;;) {
      this.position = off;
      if (off === this.size) return;
      const bh = this.win.at(off, 12);
      if (!bh) throw bad(this.path, off, `a block header is cut short (${this.size - off} of 12 bytes) — the capture was cut off`);
      const type = bh.readUInt32LE(0) === 0x0a0d0d0a ? 0x0a0d0d0a : this.u32(bh, 0);
      if (type === 0x0a0d0d0a) {
        const bom = bh.readUInt32LE(8);
        if (bom === 0x1a2b3c4d) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else throw bad(this.path, off + 8, 'a section header without the byte-order magic');
        // interface ids are per section
        ifaceBase = this.interfaces.length;
        sections++;
      } else if (sections === 0) {
        throw bad(this.path, off, 'the file does not start with a section header block');
      }
      const len = this.u32(bh, 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) throw bad(this.path, off, `a block of type 0x${type.toString(16)} claims a length of ${len} bytes`);
      const block = this.win.at(off, len);
      if (!block) throw bad(this.path, off, `a block of ${len} bytes is cut short (${this.size - off} remain) — the capture was cut off`);
      if (this.u32(block, len - 4) !== len) throw bad(this.path, off + len - 4, "a block's trailing length does not match its leading length");
      const body = block.subarray(8, len - 4);
      if (type === 1) this.interfaces.push(this.idb(body, off));
      else if (type === 6 || type === 3 || type === 2) {
        const p = this.packet(type, body, off, ifaceBase);
        if (p) yield p;
      }
      off += len;
    }
  }

  private idb(body: Buffer, off: number): PcapInterface {
    if (body.byteLength < 8) throw bad(this.path, off, 'an interface description block is too short');
    const iface: PcapInterface = { linktype: this.u16(body, 0), tsPerSec: 1e6 };
    for (const [code, val] of this.options(body.subarray(8), off + 16)) {
      if (code === 2) iface.name = val.toString('utf8').replace(/\0+$/, '');
      else if (code === 3) iface.description = val.toString('utf8').replace(/\0+$/, '');
      else if (code === 9 && val.byteLength >= 1) {
        const v = val[0];
        iface.tsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
        if (!Number.isFinite(iface.tsPerSec) || iface.tsPerSec > 1e15) throw bad(this.path, off, `an interface with a timestamp resolution of ${v}`);
      }
    }
    return iface;
  }

  private packet(type: number, body: Buffer, off: number, ifaceBase: number): PcapPacket | undefined {
    if (type === 3) {
      // simple packet block: interface 0, no timestamp
      if (body.byteLength < 4) throw bad(this.path, off, 'a simple packet block is too short');
      const orig = this.u32(body, 0);
      const iface = ifaceBase;
      if (!this.interfaces[iface]) throw bad(this.path, off, 'a packet on an interface that was never described');
      return { iface, sec: 0, nsec: 0, data: body.subarray(4, 4 + Math.min(orig, body.byteLength - 4)), origLen: orig, direction: 0, offset: off };
    }
    if (body.byteLength < 20) throw bad(this.path, off, 'a packet block is too short');
    const id = type === 2 ? this.u16(body, 0) : this.u32(body, 0);
    const iface = ifaceBase + id;
    const desc = this.interfaces[iface];
    if (!desc || id >= this.interfaces.length - ifaceBase) throw bad(this.path, off, `a packet on interface ${id}, which was never described`);
    const ts = (BigInt(this.u32(body, 4)) << 32n) | BigInt(this.u32(body, 8));
    const per = BigInt(desc.tsPerSec);
    const sec = Number(ts / per);
    const nsec = Number(((ts % per) * 1_000_000_000n) / per);
    const incl = this.u32(body, 12);
    const orig = this.u32(body, 16);
    if (20 + incl > body.byteLength) throw bad(this.path, off, `a packet block claims ${incl} captured bytes but holds ${body.byteLength - 20}`);
    let direction: 0 | 1 | 2 = 0;
    if (type === 6) {
      for (const [code, val] of this.options(body.subarray(20 + ((incl + 3) & ~3)), off)) {
        if (code === 2 && val.byteLength >= 4) direction = (this.u32(val, 0) & 3) as 0 | 1 | 2;
      }
      if (direction === 3 as number) direction = 0;
    }
    return { iface, sec, nsec, data: body.subarray(20, 20 + incl), origLen: orig, direction, offset: off };
  }

  private *options(b: Buffer, off: number): IterableIterator<[number, Buffer]> {
    let o = 0;
    while (o + 4 <= b.byteLength) {
      const code = this.u16(b, o);
      const len = this.u16(b, o + 2);
      if (code === 0) return;
      if (o + 4 + len > b.byteLength) throw bad(this.path, off, `an option of ${len} bytes runs past its block`);
      yield [code, b.subarray(o + 4, o + 4 + len)];
      o += 4 + ((len + 3) & ~3);
    }
  }
}
