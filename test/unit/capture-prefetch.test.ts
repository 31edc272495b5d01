// Reading ahead on a thread (capture/prefetch.ts): the real thread, started from the
// compiled dist/ that `npm test` builds first, on real capture files made larger than a
// run. With it or without, a reader yields the same frames, a replay the same flows, and
// damage the same error at the same offset; frames larger than a run, and a reader closed
// early, are handled. Small runs here make a few-MB file many of them.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { CaptureReader, type CaptureItem } from '../../src/capture/reader.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { replayCapture } from '../../src/capture/replay.js';
import { scanFrames } from '../../src/capture/frame-scan.js';
import { frameHeader, FRAME_HEADER_SIZE, MAX_FRAME_SIZE } from '../../src/capture/format.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import type { PrefetchOptions } from '../../src/capture/prefetch.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-prefetch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const compiled = join(__dirname, '..', '..', 'dist', 'capture', 'prefetch-worker.js');

/** the lab's recording with its batches written `times` over (the same packets again:
 * what matters here is frames), several MB: many runs of 64 KB */
function bigCapture(name: string, times: number): string {
  const path = join(dir, name);
  const r = new CaptureReader(fixture);
  const items = [...r.items()];
  const w = CaptureWriter.create(path, r.header);
  r.close();
  for (let t = 0; t < times; t++) {
    for (const it of items) {
      if (it.kind === 'topology' && t === 0) w.topology(it.snapshot, it.monotonicNs);
      else if (it.kind === 'batch') w.batch(it.batch.clock, Buffer.from(it.batch.records), it.batch.count, it.batch.payload);
      else if (it.kind === 'tick') w.tick(it.tick.clock, it.tick.nowNs);
    }
  }
  w.end(0, 'duration');
  w.close();
  return path;
}

const THREAD: PrefetchOptions = { minBytes: 0, chunkBytes: 64 << 10 };
const ALONE: PrefetchOptions = { minBytes: Infinity };

/** every item as text (batches by their bytes), or the error reading stopped at */
function readAll(path: string, prefetch: PrefetchOptions): { items: string[]; error?: string; runs: number } {
  const items: string[] = [];
  let r: CaptureReader | undefined;
  let error: string | undefined;
  try {
    r = new CaptureReader(path, { prefetch });
    for (const it of r.items()) items.push(describeItem(it));
  } catch (err) {
    error = (err as Error).message;
  } finally {
    r?.close();
  }
  return { items, error, runs: r?.runsPrefetched ?? 0 };
}

/** the same frames and error as reading alone, most of them from the thread */
function sameAsAlone(path: string, prefetch: PrefetchOptions, minRuns: number): ReturnType<typeof readAll> {
  const alone = readAll(path, ALONE);
  const ahead = readAll(path, prefetch);
  expect(alone.runs).toBe(0);
  expect(ahead.runs).toBeGreaterThanOrEqual(minRuns);
  expect({ ...ahead, runs: 0 }).toEqual(alone);
  return alone;
}

function describeItem(it: CaptureItem): string {
  if (it.kind === 'batch') return `batch@${it.offset} ${it.batch.count} ${Buffer.from(it.batch.records).toString('base64')}`;
  if (it.kind === 'topology') return `topology@${it.offset} ${it.snapshot.netns.length}`;
  return `${it.kind}@${it.offset}`;
}

describe('scanFrames', () => {
  const frame = (payload: Buffer) => Buffer.concat([frameHeader(payload), payload]);
  const two = Buffer.concat([frame(Buffer.from('first')), frame(Buffer.alloc(300, 7))]);

  it('takes whole sound frames and says what the next one needs', () => {
    expect(scanFrames(two)).toEqual({ end: two.length, stop: 'partial' });
    expect(scanFrames(two, two.length - 1)).toEqual({ end: FRAME_HEADER_SIZE + 5, stop: 'partial', need: FRAME_HEADER_SIZE + 300 });
    expect(scanFrames(two, FRAME_HEADER_SIZE + 5 + 3)).toEqual({ end: FRAME_HEADER_SIZE + 5, stop: 'partial' });
  });

  it('stops at a checksum that does not match, or a length out of bounds', () => {
    const bad = Buffer.from(two);
    bad[two.length - 1] ^= 1;
    expect(scanFrames(bad)).toEqual({ end: FRAME_HEADER_SIZE + 5, stop: 'damaged' });
    const huge = Buffer.from(two);
    huge.writeUInt32LE(MAX_FRAME_SIZE + 1, 0);
    expect(scanFrames(huge)).toEqual({ end: 0, stop: 'damaged' });
  });
});

describe('reading ahead on a thread', () => {
  it('has its compiled thread to start (npm test builds dist/ first)', () => {
    expect(existsSync(compiled)).toBe(true);
  });

  const big = bigCapture('big.mtrace', 40);

  it('yields the same frames as reading alone, runs smaller than some frames included', () => {
    const alone = sameAsAlone(big, THREAD, 50);
    expect(alone.error).toBeUndefined();
    expect(alone.items.length).toBeGreaterThan(400);
    // the topology frame is larger than a 4 KB run: the thread reads it whole
    sameAsAlone(big, { minBytes: 0, chunkBytes: 4096 }, 60);
  });

  it('replays to the same flows', () => {
    const flows = (prefetch: PrefetchOptions) => {
      const r = new CaptureReader(big, { prefetch });
      const out: string[] = [];
      const p = new FlowPipeline({ wallClock: (_c, ns) => ns, dropReason: String, onFlows: (f) => out.push(...f.map((x) => JSON.stringify(x))) });
      const res = replayCapture(r, p);
      r.close();
      expect(res.damage).toBeUndefined();
      return { out, runs: r.runsPrefetched };
    };
    const alone = flows(ALONE);
    expect(alone.out.length).toBeGreaterThan(0);
    const ahead = flows(THREAD);
    expect(ahead.runs).toBeGreaterThan(50);
    expect(ahead.out).toEqual(alone.out);
  });

  it('gives the same error at the same offset for damage far into the file', () => {
    const bytes = readFileSync(big);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length * 0.7)] ^= 0x10;
    writeFileSync(join(dir, 'flipped.mtrace'), flipped);
    writeFileSync(join(dir, 'cut.mtrace'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    for (const name of ['flipped.mtrace', 'cut.mtrace']) {
      const alone = sameAsAlone(join(dir, name), THREAD, 20);
      expect(alone.error).toMatch(/is damaged at byte \d+/);
    }
  });

  it('reads on by itself when the thread dies without its stop (after it said it was ready)', () => {
    // what an unforeseen failure in the thread leaves: a 'ready', then nothing, ever
    const dies = join(dir, 'dies.mjs');
    writeFileSync(
      dies,
      `import { workerData } from 'node:worker_threads';
const state = new Int32Array(workerData.shared);
workerData.port.postMessage({ kind: 'ready' });
Atomics.add(state, 1, 1);
Atomics.notify(state, 1);
setTimeout(() => { throw new Error('the thread failed'); }, 100);
`,
    );
    // in a child process of its own: a reader that waits forever cannot be timed out here
    const script = join(dir, 'read-dies.mjs');
    writeFileSync(
      script,
      `const { CaptureReader } = await import(${JSON.stringify(pathToFileURL(join(__dirname, '..', '..', 'dist', 'capture', 'reader.js')).href)});
const r = new CaptureReader(process.argv[2], { prefetch: { minBytes: 0, chunkBytes: 65536, workerFile: process.argv[3] } });
let n = 0;
for (const it of r.items()) n++;
r.close();
console.log(n, r.runsPrefetched);
`,
    );
    const child = spawnSync(process.execPath, [script, big, dies], { encoding: 'utf8', timeout: 20_000 });
    expect(child.signal).toBeNull();
    expect(child.stdout.trim()).toBe(`${readAll(big, ALONE).items.length} 0`);
  });

  it('lets go of the thread when closed early, and reads the file again after', () => {
    const r = new CaptureReader(big, { prefetch: THREAD });
    const it = r.items();
    for (let k = 0; k < 5; k++) expect(it.next().done).toBe(false);
    r.close();
    r.close();
    sameAsAlone(big, THREAD, 50);
  });
});
