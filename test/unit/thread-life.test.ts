// A worker's death, seen from a thread that only waits on shared words (threads/thread-life.ts):
// real threads that end in each way a thread can — its code fails to load, it throws, it
// calls process.exit, it is stopped from outside without running its exit hook (as one
// killed for running out of memory is) — and one that lives on. The waiting here is the
// replay's: Atomics.wait with a timeout, no event loop.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIFE_WORDS, startWatched, threadGone } from '../../src/threads/thread-life.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-thread-life-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function entry(name: string, code: string): string {
  const path = join(dir, name);
  writeFileSync(path, code);
  return path;
}

/** waits as a replay does, on word 0, until the thread is gone or `ms` pass: how long it took */
function waitGone(words: Int32Array, ms: number): number | undefined {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (threadGone(words)) return Date.now() - t0;
    Atomics.wait(words, 0, 0, 100);
  }
  return undefined;
}

function start(path: string): { words: Int32Array; stop: () => Promise<number> } {
  const shared = new SharedArrayBuffer((1 + LIFE_WORDS) * 4);
  const w = startWatched(path, { shared });
  w.on('error', () => {});
  return { words: new Int32Array(shared), stop: () => w.terminate() };
}

describe('a watched thread', () => {
  it('is gone when its code fails to load, throws, or exits', () => {
    const ways = [
      entry('missing-import.mjs', `import './no-such-module.mjs';\n`),
      entry('throws.mjs', `setTimeout(() => { throw new Error('boom'); }, 50);\n`),
      entry('exits.mjs', `setTimeout(() => process.exit(3), 50);\n`),
    ];
    for (const path of ways) {
      const t = start(path);
      expect(waitGone(t.words, 5000), path).toBeDefined();
      // the exit hook said so (and woke the waiter), before the kernel let the thread go
      expect(Atomics.load(t.words, 1 + 1)).toBe(1);
    }
  });

  it('is gone when it was stopped without its exit hook running (as out of memory)', async () => {
    const t = start(entry('idles.mjs', `setInterval(() => {}, 1000);\n`));
    expect(waitGone(t.words, 300)).toBeUndefined();
    expect(Atomics.load(t.words, 1)).toBeGreaterThan(0);
    await t.stop();
    expect(Atomics.load(t.words, 1 + 1)).toBe(0);
    expect(waitGone(t.words, 5000)).toBeDefined();
  });

  it('is not gone while it runs, and reads its workerData as usual', async () => {
    const t = start(
      entry(
        'works.mjs',
        `import { workerData } from 'node:worker_threads';
const w = new Int32Array(workerData.shared);
Atomics.store(w, 0, 7);
Atomics.notify(w, 0);
setInterval(() => {}, 1000);
`,
      ),
    );
    const t0 = Date.now();
    while (Atomics.load(t.words, 0) !== 7 && Date.now() - t0 < 5000) Atomics.wait(t.words, 0, 0, 100);
    expect(Atomics.load(t.words, 0)).toBe(7);
    expect(threadGone(t.words)).toBe(false);
    await t.stop();
  });
});
