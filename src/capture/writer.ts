// Writes a capture file as the live tool runs: every frame goes out whole, with one
// write(), the moment it is known, so a crash loses at most the frame being written.
// The file is created with mode 0600: it holds addresses and names from the host.
import { closeSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { MeshTraceError } from '../errors.js';
import type { TopologySnapshot } from '../topology/model.js';
import { TOPOLOGY_VERSION } from '../topology/model.js';
import { frameHeader, MAGIC } from './format.js';
import { openOutput, removeOutput } from './output-file.js';
import { encodeFrame, frameSchema, type CountersMsg, type FrameMsg, type HeaderMsg } from './schema.js';

export class CaptureWriter {
  private fd: number | undefined;
  private bytes = 0;

  private constructor(
    readonly path: string,
    fd: number,
    /** the file did not exist before: discard() may remove it */
    private readonly created: boolean,
  ) {
    this.fd = fd;
  }

  static create(path: string, header: HeaderMsg): CaptureWriter {
    // before the file is opened (and an old one truncated): a schema that cannot be read
    // fails the installation, and must leave no stub behind
    frameSchema();
    const { fd, created } = openOutput(path, 'the capture', '-o', { private: true });
    const w = new CaptureWriter(path, fd, created);
    w.raw(MAGIC);
    w.frame({ header });
    return w;
  }

  get size(): number {
    return this.bytes;
  }

  topology(snap: TopologySnapshot, monotonicNs: number): void {
    const snapshot = deflateSync(Buffer.from(JSON.stringify(snap)));
    this.frame({ topology: { topologyVersion: TOPOLOGY_VERSION, encoding: 'deflate-json', snapshot, monotonicNs } });
  }

  /** payload: the records' --snaplen bytes in record order (EventBatch.rawPayload()) */
  batch(clock: string, records: Uint8Array, count: number, payload?: Uint8Array): void {
    this.frame({ batch: { clock, count, records, ...(payload?.byteLength ? { payload } : {}) } });
  }

  tick(clock: string, nowNs: number): void {
    this.frame({ tick: { clock, nowNs } });
  }

  counters(c: CountersMsg): void {
    this.frame({ counters: c });
  }

  end(monotonicNs: number, reason: string, counters?: CountersMsg): void {
    this.frame({ end: { monotonicNs, reason, ...(counters ? { counters } : {}) } });
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** the run failed before recording anything worth keeping: leave no file behind (of
   * its own: a device such as /dev/null, or a file that was there before, stays) */
  discard(): void {
    this.close();
    if (this.created) removeOutput(this.path);
  }

  private frame(f: FrameMsg): void {
    const payload = encodeFrame(f);
    this.raw(Buffer.concat([frameHeader(payload), payload]));
  }

  private raw(buf: Uint8Array): void {
    if (this.fd === undefined) return;
    let off = 0;
    try {
      while (off < buf.byteLength) off += writeSync(this.fd, buf, off, buf.byteLength - off);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new MeshTraceError('IO', `Writing the capture to ${this.path} failed at byte ${this.bytes + off}: ${e.code === 'ENOSPC' ? 'no space left on the device' : e.message}.`, {
        hint: 'What was written before that is a valid capture; free some space and record again.',
        cause: err,
      });
    }
    this.bytes += buf.byteLength;
  }
}
