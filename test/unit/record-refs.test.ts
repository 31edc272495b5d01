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

  it('hold nothing until a record is appended', () => {
    const refs = new RecordRefs();
    let n = 0;
    refs.forEach(() => n++);
    expect(n).toBe(0);
    expect(refs.length).toBe(0);
  });
});
