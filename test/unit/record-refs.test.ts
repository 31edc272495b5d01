import { describe, expect, it } from 'vitest';
import { EventBatch } from '../../src/events/decode.js';
import { RecordRefs } from '../../src/events/record-refs.js';
import { Off, RECORD_SIZE } from '../../src/events/layout.js';
import { Journey } from '../../src/correlate/journey.js';
import type { BatchLease } from '../../src/events/batch-lease.js';

/** a lease that counts its holders, as ChunkLease does (never below zero) */
function counted(b: EventBatch): { holders: number } {
  const c = { holders: 0 };
  const lease: BatchLease = {
    hold: () => c.holders++,
    drop: () => {
      if (--c.holders < 0) throw new Error('dropped more often than held');
    },
  };
  b.lease = lease;
  return c;
}

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

  it('hold each lent batch while they point into it, and let go of all of them when cleared', () => {
    const batches = [numbered(0, 64), numbered(1000, 64), numbered(2000, 64)];
    const leases = batches.map(counted);
    let seed = 11;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 100; round++) {
      const refs = new RecordRefs();
      const pointed = new Set<number>();
      for (let k = 0; k < 1 + rand(20); k++) {
        const w = rand(3);
        const from = rand(60);
        refs.appendRun(batches[w], from, from + 1 + rand(3));
        pointed.add(w);
        // a batch pointed into is held; one not, not
        for (let x = 0; x < 3; x++) expect(leases[x].holders > 0).toBe(pointed.has(x));
      }
      refs.clearRefs();
      expect(leases.map((l) => l.holders)).toEqual([0, 0, 0]);
    }
  });

  it("let go of a journey's batches when it copies its records out, and read them from the copy", () => {
    const a = numbered(0, 10);
    const b = numbered(100, 10);
    const [la, lb] = [counted(a), counted(b)];
    const j = new Journey(1, 'local', 7, 0);
    j.append(a, 1);
    j.append(b, 2);
    j.append(a, 5);
    // a list made before (a clone's flow reads its parent's records while the parent's
    // own flow goes on)
    expect(j.records().batches.slice(0, 3)).toEqual([a, b, a]);
    expect([la.holders, lb.holders]).toEqual([2, 1]);
    j.compact();
    expect([la.holders, lb.holders]).toEqual([0, 0]);
    const recs = j.records();
    expect(recs.length).toBe(3);
    expect(recs.batches.slice(0, 3).some((x) => x === a || x === b)).toBe(false);
    expect([0, 1, 2].map((k) => recs.batches[k].len(recs.index[k]))).toEqual([1, 102, 5]);
    // and when it lets go of its records altogether
    const k = new Journey(2, 'local', 8, 0);
    k.append(b, 3);
    k.append(a, 4);
    expect([la.holders, lb.holders]).toEqual([1, 1]);
    k.release();
    expect([la.holders, lb.holders]).toEqual([0, 0]);
  });

  it('hold nothing until a record is appended', () => {
    const refs = new RecordRefs();
    let n = 0;
    refs.forEach(() => n++);
    expect(n).toBe(0);
    expect(refs.length).toBe(0);
  });
});
