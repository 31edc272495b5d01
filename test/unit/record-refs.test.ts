import { describe, expect, it } from 'vitest';
import { EventBatch } from '../../src/events/decode.js';
import { RecordRefs } from '../../src/events/record-refs.js';
import { Off, RECORD_SIZE } from '../../src/events/layout.js';

/** n records whose length field numbers them from `first` */
function numbered(first: number, n: number): EventBatch {
  const buf = new Uint8Array(n * RECORD_SIZE);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * RECORD_SIZE + Off.len, first + i, true);
  return new EventBatch(buf);
}

describe("a journey's record references", () => {
  it('give back every record in the order appended, across gaps and batches', () => {
    const a = numbered(0, 10);
    const b = numbered(100, 10);
    const refs = new RecordRefs();
    const appended: [EventBatch, number][] = [[a, 2], [a, 3], [a, 4], [a, 7], [b, 0], [b, 1], [a, 8], [a, 9], [b, 5]];
    for (const [batch, i] of appended) refs.append(batch, i);
    const seen: number[] = [];
    refs.forEach((batch, i) => seen.push(batch.len(i)));
    expect(seen).toEqual([2, 3, 4, 7, 100, 101, 8, 9, 105]);
    expect(refs.length).toBe(appended.length);
  });

  it('give back runs and single records of interleaved packets as appended', () => {
    // records of packets in flight at once: single records and runs, alternating batches,
    // a run continuing a single record, a run continuing after a batch came between
    const a = numbered(0, 40);
    const b = numbered(100, 40);
    const c = numbered(200, 40);
    const refs = new RecordRefs();
    const runs: [EventBatch, number, number][] = [[a, 0, 3], [b, 5, 6], [b, 6, 9], [b, 9, 10], [a, 3, 4], [a, 4, 6], [c, 0, 1], [a, 6, 7], [a, 8, 11], [a, 11, 12], [b, 20, 21], [b, 22, 23]];
    for (const [batch, from, end] of runs) refs.appendRun(batch, from, end);
    const want = runs.flatMap(([batch, from, end]) => Array.from({ length: end - from }, (_, k) => batch.len(from + k)));
    const seen: number[] = [];
    refs.forEach((batch, i) => seen.push(batch.len(i)));
    expect(seen).toEqual(want);
    expect(refs.length).toBe(want.length);
    // some() stops at the first record that satisfies it, and says whether one did
    const upTo: number[] = [];
    expect(refs.some((batch, i) => (upTo.push(batch.len(i)), batch.len(i) === 4))).toBe(true);
    expect(upTo).toEqual(want.slice(0, want.indexOf(4) + 1));
    expect(refs.some(() => false)).toBe(false);
  });

  it('agree with a plain list over random interleavings', () => {
    const batches = [numbered(0, 64), numbered(1000, 64), numbered(2000, 64)];
    let seed = 7;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 200; round++) {
      const refs = new RecordRefs();
      const want: number[] = [];
      const at = [0, 0, 0];
      for (let k = 0; k < 30; k++) {
        const w = rand(3);
        // mostly the next records of that batch, sometimes after a gap
        const from = at[w] + (rand(4) === 0 ? 1 + rand(3) : 0);
        const end = Math.min(64, from + 1 + (rand(3) === 0 ? rand(5) : 0));
        if (from >= end) continue;
        refs.appendRun(batches[w], from, end);
        for (let i = from; i < end; i++) want.push(batches[w].len(i));
        at[w] = end;
      }
      const seen: number[] = [];
      refs.forEach((batch, i) => seen.push(batch.len(i)));
      expect(seen).toEqual(want);
      expect(refs.length).toBe(want.length);
    }
  });

  it('hold nothing until a record is appended', () => {
    const refs = new RecordRefs();
    let n = 0;
    refs.forEach(() => n++);
    expect(n).toBe(0);
    expect(refs.length).toBe(0);
  });
});
