// Finished flows as bytes between the replay's thread and the one building their records
// (correlate/record-wire.ts): read back, every journey has its numbers and its records in
// the same order — records from several batches, out of order, repeated; a journey of
// thousands of runs; a parent from another flow; a journey with no records; batches
// written into buffers handed back, and one flow larger than a buffer.
import { describe, expect, it } from 'vitest';
import { EventBatch } from '../../src/events/decode.js';
import { encodeEvents } from '../../src/events/encode.js';
import { RECORD_SIZE } from '../../src/events/layout.js';
import { RecordList } from '../../src/events/record-list.js';
import { readWire, WireWriter, wireBuffers, type WireFlows } from '../../src/correlate/record-wire.js';
import type { FinishedFlow, RecordJourney } from '../../src/correlate/flow-record.js';
import { headers, Walk, type Place } from './helpers/packets.js';

const at: Place = { node: 'n1', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };

/** n records, each packet's three (out, in, consume) with its own skb */
function records(n: number): Uint8Array {
  const evs = [];
  for (let p = 0; evs.length < n; p++) evs.push(...new Walk((0x1000 + p).toString(16), 1e9 + p * 1000, headers(`10.0.0.1:${1000 + p}`, '10.9.0.1:80')).out(at).in(at).consume().events);
  return encodeEvents(evs.slice(0, n));
}

/** two batches of the same records, the second inside larger memory (as a batch sits
 * inside a chunk of the file) */
function batches(n: number): { first: EventBatch; second: EventBatch } {
  const bytes = records(n);
  const chunk = new Uint8Array(bytes.byteLength + 3 * RECORD_SIZE);
  chunk.set(bytes, 3 * RECORD_SIZE);
  return { first: new EventBatch(bytes), second: new EventBatch(chunk.subarray(3 * RECORD_SIZE)) };
}

function journey(list: [EventBatch, number][], o: Partial<RecordJourney> = {}): RecordJourney {
  const recs = new RecordList(list.length);
  for (const [b, i] of list) recs.push(b, i);
  return { clones: 1, sawDrop: false, tunnelDatagram: 0, firstIpLen: 60, firstTs: 5, lastTs: 9, clock: 'local', tableKey: 77, dir: 'forward', records: () => recs, ...o };
}

function flow(journeys: RecordJourney[], tuples = ['k1']): FinishedFlow {
  return { firstTs: 1, lastTs: 2, evicted: false, reset: true, closed: false, journeys, tuples };
}

/** a journey as text: its numbers, and its records' bytes in order */
function describeJourney(j: RecordJourney): string {
  const recs = j.records();
  const bytes: string[] = [];
  for (let k = 0; k < recs.length; k++) bytes.push(Buffer.from(recs.batches[k].record(recs.index[k])).toString('hex'));
  return JSON.stringify([j.clones, j.sawDrop, j.tunnelDatagram, j.firstIpLen, j.firstTs, j.lastTs, j.clock, j.tableKey, j.dir, j.parent ? describeJourney(j.parent) : null, bytes]);
}

function describeFlow(f: FinishedFlow): string {
  return JSON.stringify([f.firstTs, f.lastTs, f.evicted, f.reset, f.closed, f.tuples, f.journeys.map(describeJourney)]);
}

/** as the other thread receives it: its buffers moved */
function posted(m: WireFlows): WireFlows {
  return structuredClone(m, { transfer: wireBuffers(m) });
}

describe('finished flows as bytes for the record thread', () => {
  it('read back the same', () => {
    const { first, second } = batches(600);
    const parent = journey([[first, 0], [first, 1]], { dir: 'reply', clones: 2 });
    const flows = [
      // runs of one batch, broken by another batch, out of order, and a record again
      flow([journey([[first, 5], [first, 6], [first, 7], [second, 8], [second, 9], [first, 3], [second, 2], [first, 3]])]),
      flow([journey([[second, 10]], { sawDrop: true, dir: undefined, parent }), journey([], { clock: 'n2' })], ['k2', 'k3']),
    ];
    const w = new WireWriter();
    for (const f of flows) w.add(f, 'closed');
    const m = w.take();
    expect(m.records.byteLength).toBe(11 * RECORD_SIZE);
    const back = [...readWire(posted(m))];
    expect(back.map((b) => describeFlow(b.flow))).toEqual(flows.map(describeFlow));
    expect(back.map((b) => b.idle)).toEqual(['closed', 'closed']);
  });

  it('keep every record of a journey of thousands of runs', () => {
    const { first, second } = batches(6000);
    // 3,000 runs, alternating between the two batches
    const list: [EventBatch, number][] = [];
    for (let i = 0; i < 6000; i += 2) list.push([i % 4 ? second : first, i]);
    const flows = [flow([journey(list)]), flow([journey([[first, 1]])])];
    const w = new WireWriter();
    for (const f of flows) w.add(f, 'timeout');
    const back = [...readWire(posted(w.take()))];
    expect(back.map((b) => describeFlow(b.flow))).toEqual(flows.map(describeFlow));
  });

  it('write buffers handed back again, and say when a flow would outgrow them', () => {
    const { first } = batches(6000);
    /** a flow of n records (the batch's, round and round) */
    const big = (n: number, from = 0) => flow([journey(Array.from({ length: n }, (_, k): [EventBatch, number] => [first, (from + k) % 6000]))]);
    const a = big(8000);
    const b = big(8000, 17);
    const w = new WireWriter();
    expect(w.full(a)).toBe(false);
    w.add(a, 'closed');
    // 2 x 8,000 records are more than the 2 MB buffer holds: b goes into the next batch
    expect(w.full(b)).toBe(true);
    const m1 = w.take();
    const there = posted(m1);
    expect([...readWire(there)].map((x) => describeFlow(x.flow))).toEqual([describeFlow(a)]);
    // the thread hands its buffers back as it received them
    const back = structuredClone({ numbers: there.numbers, records: there.records }, { transfer: [there.numbers.buffer as ArrayBuffer, there.records.buffer as ArrayBuffer] });
    w.recycle(back);
    expect(w.full(b)).toBe(false);
    w.add(b, 'timeout');
    const m2 = w.take();
    expect(m2.records.buffer).toBe(back.records.buffer);
    expect(m2.numbers.buffer).toBe(back.numbers.buffer);
    // written over what the first batch left there, and read as b alone
    expect([...readWire(posted(m2))].map((x) => [describeFlow(x.flow), x.idle])).toEqual([[describeFlow(b), 'timeout']]);
    // a flow larger than a buffer gets one of its own size
    const huge = big(20000);
    w.add(huge, 'open');
    const m3 = w.take();
    expect(m3.records.byteLength).toBe(20000 * RECORD_SIZE);
    expect([...readWire(posted(m3))].map((x) => describeFlow(x.flow))).toEqual([describeFlow(huge)]);
    // flows without records take no buffer, and hand over empty ones
    const none = flow([journey([])]);
    w.add(none, 'closed');
    const m4 = w.take();
    expect(m4.records.byteLength).toBe(0);
    expect([...readWire(posted(m4))].map((x) => describeFlow(x.flow))).toEqual([describeFlow(none)]);
    w.add(none, 'closed');
    expect([...readWire(posted(w.take()))]).toHaveLength(1);
  });
});
