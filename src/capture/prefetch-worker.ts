// The prefetching thread (see prefetch.ts): reads the capture ahead of the replay into
// memory of its own, checks each frame's length and checksum, and hands over runs of whole
// sound frames. Reading and checking a large capture is a fifth of a replay's work, and
// memory fresh from the system costs a page fault per 4 KB; both happen here, beside the
// correlator rather than in front of it. Chunks the replay gives back (chunk-lease.ts) are
// read into again before any fresh memory is taken.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { scanFrames } from './frame-scan.js';
import { IN_FLIGHT, REUSED, SEQ, STOP, type PrefetchMessage, type PrefetchSetup, type SpareChunk } from './prefetch.js';

const setup = workerData as PrefetchSetup;
const state = new Int32Array(setup.shared);
const port: MessagePort = setup.port;

function post(m: PrefetchMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  Atomics.add(state, SEQ, 1);
  Atomics.notify(state, SEQ);
}

function postChunk(buf: Buffer, start: number, length: number): void {
  Atomics.add(state, IN_FLIGHT, 1);
  post({ kind: 'chunk', buf: buf.buffer as ArrayBuffer, start, length }, [buf.buffer as ArrayBuffer]);
}

/** chunks the replay gave back, read no more */
const spares: ArrayBuffer[] = [];

/** memory for a chunk of `size` bytes: one given back, else fresh */
function chunk(size: number): Buffer {
  for (let m; (m = receiveMessageOnPort(port)); ) spares.push((m.message as SpareChunk).buf);
  const k = spares.findIndex((b) => b.byteLength >= size);
  if (k >= 0) {
    Atomics.add(state, REUSED, 1);
    return Buffer.from(spares.splice(k, 1)[0]);
  }
  return Buffer.allocUnsafeSlow(size);
}

/** waits while the replay holds `ahead` chunks it has not taken; false: it closed */
function room(): boolean {
  for (;;) {
    if (Atomics.load(state, STOP)) return false;
    const v = Atomics.load(state, IN_FLIGHT);
    if (v < setup.ahead) return true;
    Atomics.wait(state, IN_FLIGHT, v, 1000);
  }
}

/** reads and hands over chunks until the end, damage, or the replay closing */
function run(fd: number): void {
  let start = setup.from;
  // the bytes of a frame not yet all read, carried into the next chunk
  let buf = chunk(setup.chunk);
  let filled = 0;
  for (;;) {
    while (filled < buf.byteLength && start + filled < setup.size) {
      const got = readSync(fd, buf, filled, Math.min(buf.byteLength - filled, setup.size - start - filled), start + filled);
      if (got === 0) return;
      filled += got;
    }
    const scan = scanFrames(buf, filled);
    const atEnd = start + filled >= setup.size;
    if (scan.stop === 'damaged' || atEnd) {
      if (scan.end > 0 && room()) postChunk(buf, start, scan.end);
      return;
    }
    // the next chunk starts with the frame this one ends inside of, and holds it whole
    const next = chunk(Math.max(setup.chunk, scan.need ?? 0));
    buf.copy(next, 0, scan.end, filled);
    if (scan.end > 0) {
      if (!room()) return;
      postChunk(buf, start, scan.end);
    }
    start += scan.end;
    filled -= scan.end;
    buf = next;
  }
}

post({ kind: 'ready' });
try {
  const fd = openSync(setup.path, 'r');
  try {
    // the path may name another file by now (replaced while the replay opened it)
    const st = fstatSync(fd);
    if (st.dev === setup.dev && st.ino === setup.ino) run(fd);
  } finally {
    closeSync(fd);
  }
} catch {
  // a read that failed here fails again in the replay, which says why
}
// from here the replay reads by itself, and meets whatever stopped this (the end, damage)
post({ kind: 'stop' });
