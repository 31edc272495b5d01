// Finished flows as bytes, for a thread that builds their records (cli/record-thread.ts):
// each journey's numbers as doubles, its records copied in time order, its strings (tuple
// keys, clock names) as a list. What FlowRecordBuilder reads of a flow, and nothing else;
// read back, the journeys answer it as the correlator's did, so the records are the same.
import { EventBatch } from '../events/decode.js';
import { RECORD_SIZE } from '../events/layout.js';
import { RecordList } from '../events/record-list.js';
import type { FinishedFlow, RecordJourney } from './flow-record.js';
import type { Direction } from './journey.js';
import type { FlowState } from './model.js';

/** a flow's numbers: firstTs, lastTs, flags, idle state, tuples (first string, count),
 * journeys of the flow, journeys in all (with ancestors from other flows) */
const FLOW_WORDS = 8;
/** a journey's: parent (index in its flow's list, -1 none), clones, sawDrop, firstIpLen,
 * firstTs, lastTs, clock (string), tableKey, direction, tunnel datagram, first record,
 * records */
const JOURNEY_WORDS = 12;

const STATES: FlowState[] = ['closed', 'reset', 'dropped', 'timeout', 'open', 'evicted'];
const DIRS: (Direction | undefined)[] = [undefined, 'forward', 'reply'];

/** a batch of finished flows, ready to post (its buffers transferred) */
export interface WireFlows {
  count: number;
  numbers: Float64Array;
  records: Uint8Array;
  strings: string[];
}

/** about the record bytes f adds: its journeys' and their parents' (a buffer too small
 * for all of them is grown, so this need not be exact) */
function bytesOf(f: FinishedFlow): number {
  let n = 0;
  for (const j of f.journeys) n += j.records().length + (j.parent ? j.parent.records().length : 0);
  return n * RECORD_SIZE;
}

/** a WireWriter's first buffers: numbers (doubles) and record bytes */
const NUMBERS = 4096;
const RECORD_BYTES = 1 << 21;
/** no buffer yet: one is taken when the first flow is added */
const NO_NUMBERS = new Float64Array(0);
const NO_RECORDS = new Uint8Array(0);

/** Collects finished flows into one WireFlows. */
export class WireWriter {
  private numbers = NO_NUMBERS;
  private n = 0;
  private records = NO_RECORDS;
  private r = 0;
  private strings: string[] = [];
  count = 0;
  /** buffers handed back (recycle): written again instead of fresh memory, which costs a
   * page fault per 4 KB on the replay's thread (a third of its time on lab traffic) */
  private readonly spareNumbers: ArrayBuffer[] = [];
  private readonly spareRecords: ArrayBuffer[] = [];

  /** whether adding f would outgrow the records' buffer: the batch is then handed over
   * first (a larger buffer is grown only for one flow larger than it) */
  full(f: FinishedFlow): boolean {
    return this.r > 0 && this.r + bytesOf(f) > this.records.byteLength;
  }

  add(f: FinishedFlow, idle: FlowState): void {
    // a clone's parent in another flow is read for the hops before the copy: sent along,
    // after the flow's own
    const all = [...f.journeys];
    for (let k = 0; k < all.length; k++) {
      const p = all[k].parent;
      if (p && !all.includes(p)) all.push(p);
    }
    this.room(FLOW_WORDS + all.length * JOURNEY_WORDS);
    const w = this.numbers;
    let at = this.n;
    w[at++] = f.firstTs;
    w[at++] = f.lastTs;
    w[at++] = (f.evicted ? 1 : 0) | (f.reset ? 2 : 0) | (f.closed ? 4 : 0);
    w[at++] = STATES.indexOf(idle);
    w[at++] = this.strings.length;
    w[at++] = f.tuples.length;
    w[at++] = f.journeys.length;
    w[at++] = all.length;
    for (const t of f.tuples) this.strings.push(t);
    for (const j of all) {
      const recs = j.records();
      w[at++] = j.parent ? all.indexOf(j.parent) : -1;
      w[at++] = j.clones;
      w[at++] = j.sawDrop ? 1 : 0;
      w[at++] = j.firstIpLen;
      w[at++] = j.firstTs;
      w[at++] = j.lastTs;
      w[at++] = this.strings.push(j.clock) - 1;
      w[at++] = j.tableKey;
      w[at++] = DIRS.indexOf(j.dir);
      w[at++] = j.tunnelDatagram;
      w[at++] = this.r / RECORD_SIZE;
      w[at++] = recs.length;
      this.copy(recs);
    }
    this.n = at;
    this.count++;
  }

  /** what was added since the last take, to post with its buffers transferred (wireBuffers):
   * the writer starts over in new ones */
  take(): WireFlows {
    // the shared empty arrays stay here (a flow without records takes no buffer)
    const numbers = this.numbers === NO_NUMBERS ? new Float64Array(0) : this.numbers.subarray(0, this.n);
    const records = this.records === NO_RECORDS ? new Uint8Array(0) : this.records.subarray(0, this.r);
    const out: WireFlows = { count: this.count, numbers, records, strings: this.strings };
    // the next add writes into a buffer handed back by then, or a new one
    this.numbers = NO_NUMBERS;
    this.records = NO_RECORDS;
    this.n = 0;
    this.r = 0;
    this.strings = [];
    this.count = 0;
    return out;
  }

  /** a WireFlows' buffers, back from the thread that read it (which keeps no view of
   * them): the batches after written into them */
  recycle(m: Pick<WireFlows, 'numbers' | 'records'>): void {
    // (an empty batch's are not worth keeping)
    if (m.numbers.buffer.byteLength >= NUMBERS * Float64Array.BYTES_PER_ELEMENT) this.spareNumbers.push(m.numbers.buffer as ArrayBuffer);
    if (m.records.buffer.byteLength >= RECORD_BYTES) this.spareRecords.push(m.records.buffer as ArrayBuffer);
  }

  /** a list's records, copied a run of consecutive ones at a time */
  private copy(recs: RecordList): void {
    this.roomForRecords(recs.length * RECORD_SIZE);
    for (let k = 0; k < recs.length; ) {
      const b = recs.batches[k];
      const from = recs.index[k];
      let end = k + 1;
      while (end < recs.length && recs.batches[end] === b && recs.index[end] === from + (end - k)) end++;
      b.copyRecords(from, from + (end - k), this.records, this.r);
      this.r += (end - k) * RECORD_SIZE;
      k = end;
    }
  }

  private room(words: number): void {
    if (this.n + words <= this.numbers.length) return;
    if (this.numbers === NO_NUMBERS) {
      const spare = this.spareNumbers.pop();
      this.numbers = spare ? new Float64Array(spare) : new Float64Array(NUMBERS);
      if (words <= this.numbers.length) return;
    }
    const grown = new Float64Array(Math.max(2 * this.numbers.length, this.n + words));
    grown.set(this.numbers.subarray(0, this.n));
    this.numbers = grown;
  }

  private roomForRecords(bytes: number): void {
    if (this.r + bytes <= this.records.byteLength) return;
    if (this.records === NO_RECORDS) {
      const spare = this.spareRecords.pop();
      this.records = spare ? new Uint8Array(spare) : new Uint8Array(RECORD_BYTES);
      if (bytes <= this.records.byteLength) return;
    }
    const grown = new Uint8Array(Math.max(2 * this.records.byteLength, this.r + bytes));
    grown.set(this.records.subarray(0, this.r));
    this.records = grown;
  }
}

/** the buffers to transfer with a WireFlows */
export function wireBuffers(m: WireFlows): ArrayBuffer[] {
  return [m.numbers.buffer as ArrayBuffer, m.records.buffer as ArrayBuffer];
}

/** a journey read back: the numbers FlowRecordBuilder reads, and its records */
class WireJourney implements RecordJourney {
  parent?: WireJourney;
  constructor(
    readonly clones: number,
    readonly sawDrop: boolean,
    readonly firstIpLen: number,
    readonly firstTs: number,
    readonly lastTs: number,
    readonly clock: string,
    readonly tableKey: number,
    readonly dir: Direction | undefined,
    readonly tunnelDatagram: number,
    private readonly list: RecordList,
  ) {}

  records(): RecordList {
    return this.list;
  }
}

/** The flows of a WireFlows, in the order they were added. */
export function* readWire(m: WireFlows): IterableIterator<{ flow: FinishedFlow; idle: FlowState }> {
  const w = m.numbers;
  const batch = new EventBatch(m.records, m.records.byteLength / RECORD_SIZE);
  let at = 0;
  for (let n = 0; n < m.count; n++) {
    const firstTs = w[at++];
    const lastTs = w[at++];
    const flags = w[at++];
    const idle = STATES[w[at++]];
    const tupleAt = w[at++];
    const tuples = m.strings.slice(tupleAt, tupleAt + w[at++]);
    const own = w[at++];
    const total = w[at++];
    const all: WireJourney[] = [];
    const parents: number[] = [];
    for (let k = 0; k < total; k++) {
      parents.push(w[at++]);
      const clones = w[at++];
      const sawDrop = w[at++];
      const firstIpLen = w[at++];
      const jFirst = w[at++];
      const jLast = w[at++];
      const clock = m.strings[w[at++]];
      const tableKey = w[at++];
      const dir = DIRS[w[at++]];
      const tunnelDatagram = w[at++];
      const from = w[at++];
      const count = w[at++];
      const list = new RecordList(count);
      for (let i = from; i < from + count; i++) list.push(batch, i);
      all.push(new WireJourney(clones, sawDrop !== 0, firstIpLen, jFirst, jLast, clock, tableKey, dir, tunnelDatagram, list));
    }
    for (let k = 0; k < total; k++) if (parents[k] >= 0) all[k].parent = all[parents[k]];
    yield {
      flow: { firstTs, lastTs, evicted: (flags & 1) !== 0, reset: (flags & 2) !== 0, closed: (flags & 4) !== 0, journeys: all.slice(0, own), tuples },
      idle,
    };
  }
}
