// Reads a capture file frame by frame, checking each frame's length and checksum before
// decoding it, so damage is reported with the offset where it starts and nothing decodes
// garbage. Synchronous and chunked: a replay is a tight loop over a file that may be
// larger than memory. A large file is read ahead on a thread (prefetch.ts), whose runs
// of frames come checked already.
import { closeSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { MeshTraceError } from '../errors.js';
import { EventBatch } from '../events/decode.js';
import { EVENT_VERSION, READABLE_EVENT_VERSIONS, RECORD_SIZE } from '../events/layout.js';
import type { TopologySnapshot } from '../topology/model.js';
import { TOPOLOGY_VERSION } from '../topology/model.js';
import { checksum, FORMAT_VERSION, FRAME_HEADER_SIZE, isCapture, MAGIC, MAX_FRAME_SIZE } from './format.js';
import { openInput } from './input-file.js';
import { Prefetcher, type PrefetchOptions } from './prefetch.js';
import { ChunkLease } from './chunk-lease.js';
import { decodeFrame, frameSchema, type BatchMsg, type CountersMsg, type EndMsg, type HeaderMsg, type TickMsg } from './schema.js';

export type CaptureItem =
  | { kind: 'topology'; offset: number; snapshot: TopologySnapshot; monotonicNs: number }
  /** events: the batch's records, checked against its payload, to read */
  | { kind: 'batch'; offset: number; batch: BatchMsg; events: EventBatch }
  | { kind: 'tick'; offset: number; tick: TickMsg }
  | { kind: 'counters'; offset: number; counters: CountersMsg }
  | { kind: 'end'; offset: number; end: EndMsg };

const CHUNK = 4 << 20;

export function captureError(path: string, offset: number, what: string, hint?: string): MeshTraceError {
  return new MeshTraceError('BAD_INPUT', `${path} is damaged at byte ${offset}: ${what}.`, {
    hint: hint ?? 'The frames before that offset were read; the file cannot be read past it.',
  });
}

export class CaptureReader {
  readonly header: HeaderMsg;
  readonly size: number;
  /** bytes consumed so far (for progress) */
  position = 0;
  private readonly fd: number;
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private frames = 0;
  /** reads ahead on a thread of its own (large files), until it stops */
  private prefetch: Prefetcher | undefined;
  /** the frames before this file offset were checked by the prefetching thread */
  private checkedTo = 0;
  /** runs of frames the prefetching thread handed over */
  runsPrefetched = 0;
  /** runs the prefetching thread read into again after the replay gave them back */
  get runsReused(): number {
    return (this.prefetch ?? this.prefetchDone)?.reused ?? 0;
  }
  /** the prefetching thread, once it stopped */
  private prefetchDone: Prefetcher | undefined;
  /** the run read now, lent (reuseChunks) */
  private lease: ChunkLease | undefined;
  private readonly reuseChunks: boolean;

  /** reuseChunks: the caller keeps no batch past the next item but through journeys, which
   * count what they point into (RecordRefs): read-ahead runs no one points into any more
   * are then read into again (chunk-lease.ts) */
  constructor(
    readonly path: string,
    opts: { prefetch?: PrefetchOptions; reuseChunks?: boolean } = {},
  ) {
    this.reuseChunks = opts.reuseChunks ?? false;
    ({ fd: this.fd, size: this.size } = openInput(path));
    try {
      // loaded before any frame is decoded: a schema that fails is not this file's damage
      frameSchema();
      const head = this.take(MAGIC.length);
      if (!head || !isCapture(head)) throw new MeshTraceError('BAD_INPUT', `${path} is not a mesh-trace capture (it does not start with the capture magic).`);
      const first = this.next(true);
      if (!first || first.kind !== 'header') throw captureError(path, MAGIC.length, 'the first frame is not the capture header');
      this.header = first.header;
      this.prefetch = Prefetcher.start(path, this.fd, this.position, this.size, opts.prefetch);
      if (this.prefetch) {
        // what was read past the header is read again, in runs the thread checked
        this.buf = Buffer.alloc(0);
        this.bufStart = this.position;
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.prefetch?.close();
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  *items(): IterableIterator<CaptureItem> {
    for (;;) {
      const it = this.next(false);
      if (!it) return;
      if (it.kind === 'header') throw captureError(this.path, it.offset, 'a second capture header');
      yield it;
    }
  }

  private next(wantHeader: boolean): CaptureItem | { kind: 'header'; offset: number; header: HeaderMsg } | undefined {
    const offset = this.position;
    if (offset >= this.size) return undefined;
    const fh = this.take(FRAME_HEADER_SIZE);
    if (!fh) throw captureError(this.path, offset, `the file ends inside a frame header (${this.size - offset} of ${FRAME_HEADER_SIZE} bytes) — it was cut short, e.g. by a crash while recording`, `The ${this.frames} frames before it were read.`);
    const len = fh.readUInt32LE(0);
    const sum = fh.readUInt32LE(4);
    if (len > MAX_FRAME_SIZE) throw captureError(this.path, offset, `a frame announces ${len} bytes, more than any frame mesh-trace writes`);
    const payload = this.take(len);
    if (!payload) throw captureError(this.path, offset, `the last frame announces ${len} bytes but only ${this.size - offset - FRAME_HEADER_SIZE} remain — the file was cut short, e.g. by a crash while recording`, `The ${this.frames} frames before it were read.`);
    if (offset + FRAME_HEADER_SIZE + len > this.checkedTo && checksum(payload) !== sum) throw captureError(this.path, offset, `frame ${this.frames + 1} fails its checksum`);
    let f;
    try {
      f = decodeFrame(payload);
    } catch (err) {
      throw captureError(this.path, offset, `frame ${this.frames + 1} does not decode (${(err as Error).message})`);
    }
    this.frames++;
    if ('header' in f && f.header) {
      if (!wantHeader) throw captureError(this.path, offset, 'a second capture header');
      return { kind: 'header', offset, header: this.checkHeader(f.header, offset) };
    }
    if (wantHeader) throw captureError(this.path, offset, 'the first frame is not the capture header');
    if ('batch' in f && f.batch) {
      const b = f.batch;
      if (b.records.byteLength !== b.count * this.header.recordSize) throw captureError(this.path, offset, `a batch of ${b.count} records holds ${b.records.byteLength} bytes instead of ${b.count * this.header.recordSize}`);
      const events = new EventBatch(b.records, b.count, b.payload);
      events.lease = this.lease;
      const want = events.payloadLength();
      const have = b.payload?.byteLength ?? 0;
      if (have !== want) throw captureError(this.path, offset, `a batch whose records announce ${want} bytes of packet payload holds ${have}`);
      return { kind: 'batch', offset, batch: b, events };
    }
    if ('tick' in f && f.tick) return { kind: 'tick', offset, tick: f.tick };
    if ('topology' in f && f.topology) return { kind: 'topology', offset, ...this.topology(f.topology, offset) };
    if ('counters' in f && f.counters) return { kind: 'counters', offset, counters: f.counters };
    if ('end' in f && f.end) return { kind: 'end', offset, end: f.end };
    // a frame kind from a newer minor version: skip it, as protobuf intends
    return this.next(false);
  }

  private checkHeader(h: HeaderMsg, offset: number): HeaderMsg {
    if (h.formatVersion !== FORMAT_VERSION) {
      throw new MeshTraceError('BAD_INPUT', `${this.path} is capture format version ${h.formatVersion}; this mesh-trace reads version ${FORMAT_VERSION}.`, {
        hint: h.formatVersion > FORMAT_VERSION ? `It was written by mesh-trace ${h.toolVersion || 'of a newer version'}: replay it with that version.` : `The header at byte ${offset} may be damaged.`,
      });
    }
    if (!READABLE_EVENT_VERSIONS.includes(h.eventVersion) || h.recordSize !== RECORD_SIZE) {
      throw new MeshTraceError('BAD_INPUT', `${this.path} holds event records of layout version ${h.eventVersion} (${h.recordSize} bytes); this mesh-trace reads version ${EVENT_VERSION} (${RECORD_SIZE} bytes).`, {
        hint: `Replay it with mesh-trace ${h.toolVersion || 'of the version that recorded it'}.`,
      });
    }
    return h;
  }

  private topology(t: { topologyVersion: number; encoding: string; snapshot: Uint8Array; monotonicNs: number }, offset: number): { snapshot: TopologySnapshot; monotonicNs: number } {
    if (t.encoding !== 'deflate-json') throw captureError(this.path, offset, `a topology snapshot in an unknown encoding "${t.encoding}"`);
    if (t.topologyVersion !== TOPOLOGY_VERSION) throw captureError(this.path, offset, `a topology snapshot of version ${t.topologyVersion} (this mesh-trace reads ${TOPOLOGY_VERSION})`);
    let snapshot: TopologySnapshot;
    try {
      snapshot = JSON.parse(inflateSync(t.snapshot).toString('utf8'));
    } catch (err) {
      throw captureError(this.path, offset, `a topology snapshot that does not unpack (${(err as Error).message})`);
    }
    if (!snapshot || typeof snapshot !== 'object' || !Array.isArray(snapshot.netns)) throw captureError(this.path, offset, 'a topology snapshot without namespaces');
    return { snapshot, monotonicNs: t.monotonicNs };
  }

  /** the next n bytes, or undefined when the file ends first */
  private take(n: number): Buffer | undefined {
    const start = this.position - this.bufStart;
    if (start + n > this.buf.byteLength) {
      if (this.position + n > this.size) return undefined;
      if (this.prefetched(start)) return this.take(n);
      const want = Math.max(n, CHUNK);
      const fresh = Buffer.allocUnsafe(want);
      const have = this.buf.subarray(start);
      have.copy(fresh, 0);
      let filled = have.byteLength;
      while (filled < want) {
        const got = readSync(this.fd, fresh, filled, want - filled, this.position + filled);
        if (got === 0) break;
        filled += got;
      }
      this.buf = fresh.subarray(0, filled);
      this.bufStart = this.position;
      if (n > filled) return undefined;
    }
    const s = this.position - this.bufStart;
    this.position += n;
    return this.buf.subarray(s, s + n);
  }

  /** The prefetching thread's next run of frames, where the last one ended. Its runs hold
   * whole frames, so one is asked for only when the last is used up; anything else (the
   * thread stopped) and the reader reads on by itself from here. */
  private prefetched(start: number): boolean {
    const p = this.prefetch;
    if (!p) return false;
    const run = start === this.buf.byteLength ? p.next() : undefined;
    if (!run || run.start !== this.position) {
      p.close();
      this.prefetch = undefined;
      this.prefetchDone = p;
      return false;
    }
    this.buf = run.buf;
    this.bufStart = run.start;
    this.checkedTo = run.start + run.buf.byteLength;
    this.runsPrefetched++;
    // the run before is read to its end: only journeys may still point into it
    this.lease?.drop();
    this.lease = this.reuseChunks ? new ChunkLease(run.buf.buffer as ArrayBuffer, (buf) => p.giveBack(buf)) : undefined;
    return true;
  }
}
