// A pcapng file, written as it goes: a section header, an interface description block per
// interface (named, with a description), and enhanced packet blocks with a comment each.
// Raw IP link type: mesh-trace has no MAC addresses to put in front of the packets.
import { closeSync } from 'node:fs';
import { dropIfEmpty, holdEmpty, keep, openOutput, writeOutput } from '../capture/output-file.js';

const LINKTYPE_RAW = 101;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function option(code: number, value: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + pad4(value.byteLength));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.byteLength, 2);
  b.set(value, 4);
  return b;
}

const END_OF_OPTIONS = Buffer.alloc(4);

function block(type: number, body: Buffer): Buffer {
  const len = 12 + body.byteLength;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

export class PcapngWriter {
  private fd: number | undefined;
  private readonly ifaces = new Map<string, number>();
  packets = 0;

  constructor(
    readonly path: string,
    application: string,
  ) {
    const out = openOutput(path, 'the pcapng', '--pcapng', { private: true });
    this.fd = out.fd;
    // until its first packet it is only headers: a run that ends before one leaves no file
    if (out.created) holdEmpty(path);
    const shb = Buffer.alloc(16);
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
    shb.writeUInt16LE(0, 6);
    shb.writeInt32LE(-1, 8); // section length unknown
    shb.writeInt32LE(-1, 12);
    this.write(block(0x0a0d0d0a, Buffer.concat([shb, option(4, Buffer.from(application)), END_OF_OPTIONS])));
  }

  /** the interface id for a name, described the first time it is used */
  iface(name: string, description: string): number {
    let id = this.ifaces.get(name);
    if (id !== undefined) return id;
    id = this.ifaces.size;
    this.ifaces.set(name, id);
    const head = Buffer.alloc(8);
    head.writeUInt16LE(LINKTYPE_RAW, 0);
    head.writeUInt32LE(0, 4); // no snaplen limit
    const tsresol = Buffer.from([9]); // nanoseconds
    this.write(block(1, Buffer.concat([head, option(2, Buffer.from(name)), option(3, Buffer.from(description)), option(9, tsresol), END_OF_OPTIONS])));
    return id;
  }

  packet(iface: number, wallNs: number, data: Uint8Array, origLen: number, comment: string): void {
    const ts = BigInt(Math.round(wallNs));
    const head = Buffer.alloc(20);
    head.writeUInt32LE(iface, 0);
    head.writeUInt32LE(Number(ts >> 32n), 4);
    head.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    head.writeUInt32LE(data.byteLength, 12);
    head.writeUInt32LE(Math.max(origLen, data.byteLength), 16);
    const body = Buffer.alloc(pad4(data.byteLength));
    body.set(data);
    this.write(block(6, Buffer.concat([head, body, option(1, Buffer.from(comment)), END_OF_OPTIONS])));
    if (this.packets++ === 0) keep(this.path);
  }

  /** done: the file stays, with or without packets */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    keep(this.path);
  }

  /** the run failed: the file stays only if it holds packets (those are worth keeping) */
  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    dropIfEmpty(this.path);
  }

  private write(b: Buffer): void {
    if (this.fd === undefined) return;
    writeOutput(this.fd, this.path, 'the pcapng', b);
  }
}
