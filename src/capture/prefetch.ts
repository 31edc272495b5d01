// A large capture is read ahead by a thread of its own (prefetch-worker.ts), which hands
// the replay runs of whole frames it has already checked. The replay is one synchronous
// loop, so it takes them synchronously: from a message port, waiting on a shared counter
// when the thread has not caught up. The thread only ever speeds things up: when it
// stops (the end, damage, a frame it cannot read, a thread that never started) the reader
// goes on from where the last run ended with its own reads, and reports what it finds
// exactly as it does without one. A thread that dies without its stop (thread-life.ts)
// is taken as one that stopped.
import { fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { receiveMessageOnPort, type Worker, type MessagePort } from 'node:worker_threads';
import { startThread, threadGone } from '../threads/thread-life.js';

/** below this, the thread's start-up (tens of ms) costs more than it saves */
export const PREFETCH_MIN_BYTES = 16 << 20;
/** a run's size, unless a frame is larger */
const CHUNK_BYTES = 4 << 20;

/** chunks read ahead and not yet taken: what a replay that stalls (a slow reader of its
 * output) lets the thread hold */
const AHEAD = 4;
/** how long the thread may take to start before the replay reads by itself */
const START_MS = 2000;

export interface PrefetchOptions {
  /** the bytes past the header from which a thread reads ahead (tests set it low) */
  minBytes?: number;
  chunkBytes?: number;
  /** the thread's compiled file (tests: one that dies) */
  workerFile?: string;
}

/** slots of the shared counters */
export const IN_FLIGHT = 0;
export const SEQ = 1;
export const STOP = 2;
/** chunks the thread read into again (given back) */
export const REUSED = 3;

export interface PrefetchSetup {
  path: string;
  dev: number;
  ino: number;
  /** the file offset to start at (a frame boundary) and the size read up to */
  from: number;
  size: number;
  chunk: number;
  ahead: number;
  shared: SharedArrayBuffer;
  port: MessagePort;
}

/** from the replay: a chunk no one reads any more, for the thread to read into again */
export interface SpareChunk {
  kind: 'spare';
  buf: ArrayBuffer;
}

export type PrefetchMessage =
  | { kind: 'ready' }
  /** bytes [start, start + length) of the file: whole frames, every checksum checked */
  | { kind: 'chunk'; buf: ArrayBuffer; start: number; length: number }
  /** nothing more comes */
  | { kind: 'stop' };

export interface Prefetched {
  buf: Buffer;
  start: number;
}

/** the compiled thread, found the same from dist/capture and, run by a test runner, from
 * src/capture (a thread runs JavaScript only: `npm test` builds dist first) */
const WORKER = new URL('../../dist/capture/prefetch-worker.js', import.meta.url);

export class Prefetcher {
  private started = false;
  private stopped = false;
  /** of those, how many the thread has read into again */
  get reused(): number {
    return Atomics.load(this.state, REUSED);
  }

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly state: Int32Array,
  ) {}

  /** a thread reading fd's file from `from` (a frame boundary) up to `size`, or undefined
   * where it would not pay (a small file) or cannot run */
  static start(path: string, fd: number, from: number, size: number, o: PrefetchOptions = {}): Prefetcher | undefined {
    if (size - from < (o.minBytes ?? PREFETCH_MIN_BYTES)) return undefined;
    const st = fstatSync(fd);
    const setup: Omit<PrefetchSetup, 'shared' | 'port'> = { path, dev: st.dev, ino: st.ino, from, size, chunk: o.chunkBytes ?? CHUNK_BYTES, ahead: AHEAD };
    // what goes wrong in it reaches the replay as the stop it never sent
    const t = startThread(o.workerFile ?? fileURLToPath(WORKER), REUSED + 1, setup);
    return t && new Prefetcher(t.worker, t.port, t.state);
  }

  /** the next run of frames, or undefined: read on by yourself */
  next(): Prefetched | undefined {
    while (!this.stopped) {
      const seen = Atomics.load(this.state, SEQ);
      // asked before looking: what it sent before it ended is then in the port
      const gone = threadGone(this.state);
      const got = receiveMessageOnPort(this.port);
      if (!got) {
        if (gone) {
          this.close();
          continue;
        }
        const r = Atomics.wait(this.state, SEQ, seen, this.started ? 1000 : START_MS);
        if (r === 'timed-out' && !this.started) this.close();
        continue;
      }
      const m = got.message as PrefetchMessage;
      this.started = true;
      if (m.kind === 'chunk') {
        Atomics.sub(this.state, IN_FLIGHT, 1);
        Atomics.notify(this.state, IN_FLIGHT);
        return { buf: Buffer.from(m.buf, 0, m.length), start: m.start };
      }
      if (m.kind === 'stop') this.close();
    }
    return undefined;
  }

  /** a chunk next() returned, read no more (ChunkLease): the thread reads into it again */
  giveBack(buf: ArrayBuffer): void {
    if (this.stopped) return;
    this.port.postMessage({ kind: 'spare', buf } satisfies SpareChunk, [buf]);
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, IN_FLIGHT);
    this.port.close();
    this.worker.terminate().catch(() => {});
  }
}
