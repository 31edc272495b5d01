// The correlator's number-keyed table: the same answers as a Map under any mix of sets and
// deletions, with keys crowded into the same slots and runs that wrap around.
import { describe, expect, it } from 'vitest';
import { NumberTable } from '../../src/correlate/number-table.js';
import type { Journey } from '../../src/correlate/journey.js';

const journeys = Array.from({ length: 8 }, (_, n) => ({ id: n }) as unknown as Journey);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('NumberTable', () => {
  it('answers as a Map does through sets, deletions and growth', () => {
    const rand = rng(7);
    const idx = new NumberTable<Journey>(16);
    const ref = new Map<number, Journey>();
    // 53-bit keys whose low bits mostly collide: long runs, wrapping past the table's end
    const key = () => Math.floor(rand() * 2 ** 21) * 2 ** 32 + (rand() < 0.7 ? 0xfffffff0 + Math.floor(rand() * 32) : Math.floor(rand() * 2 ** 32));
    const known: number[] = [];
    for (let step = 0; step < 20000; step++) {
      const r = rand();
      if (r < 0.5 || !known.length) {
        const k = key();
        const j = journeys[Math.floor(rand() * journeys.length)];
        idx.set(k, j);
        ref.set(k, j);
        known.push(k);
      } else if (r < 0.85) {
        const k = known[Math.floor(rand() * known.length)];
        const j = journeys[Math.floor(rand() * journeys.length)];
        if (rand() < 0.5) {
          idx.deleteIf(k, j);
          if (ref.get(k) === j) ref.delete(k);
        } else {
          idx.delete(k);
          ref.delete(k);
        }
      } else {
        const gone = journeys[Math.floor(rand() * journeys.length)];
        idx.deleteWhere((j) => j === gone);
        for (const [k, j] of ref) if (j === gone) ref.delete(k);
      }
      if (step % 97 === 0) for (const k of known) expect([idx.get(k), idx.has(k)]).toEqual([ref.get(k), ref.has(k)]);
      expect(idx.size).toBe(ref.size);
    }
    for (const k of known) expect(idx.get(k)).toBe(ref.get(k));
    expect(idx.get(12345)).toBeUndefined();
  });
});
