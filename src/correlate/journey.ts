// Journeys: one packet's life on one node, identified by its sk_buff and bounded by its
// free (kfree_skb or consume_skb). The skb address is reused as soon as it is freed, so an
// event later than the free starts a new journey; an event earlier than the free (a batch
// from another CPU arriving late) still belongs to the old one.
//
// A journey copies its records (RecordLog) and keeps as numbers only what placing later
// events needs; the events are decoded when, and if, its hops are built. Most journeys of
// a long flow never are: only the first packet each way (and dropped ones) get hops.
import { Hook } from '../events/hooks.js';
import { newTuple, type EventBatch, type PacketEvent, type Tuple } from '../events/decode.js';
import { RecordLog } from '../events/record-log.js';
import type { Flow } from './flow.js';
import { l3View } from './tuple.js';

export type Direction = 'forward' | 'reply';

const TCP = 6;
/** Up to this many clocks (nodes) share one table: a key is clock × 2^48 + skb. */
export const MAX_CLOCKS = 31;
const SKB_SPAN = 2 ** 48;

export class Journey {
  /** its records while they are still in the batches they came in (index by index)... */
  private inBatch: EventBatch[] = [];
  private atIndex: number[] = [];
  /** ...or, once the journey outlives its place in the table, its own copy */
  private log: RecordLog | undefined;
  /** events past maxEvents, not kept */
  truncated = 0;
  firstTs: number;
  lastTs: number;
  /** the free that ended it */
  endTs?: number;
  /** the journey this one is a clone of */
  parent?: Journey;
  clones = 0;
  flow?: Flow;
  /** set when its flow is reported (direction.ts) */
  dir?: Direction;
  /** the TCP flags of the packet (0 for other protocols) */
  tcpFlags = 0;
  /** the journey this skb address carried before (for late events of that one) */
  previous?: Journey;
  /** whether a kfree_skb was seen (the journey may end in a drop) */
  sawDrop = false;
  /** whether any event is VXLAN-encapsulated (a tunnel crossing may continue elsewhere) */
  sawTunnel = false;
  /** the datagram keys this journey is indexed under (for clone detection) */
  readonly datagramKeys: string[] = [];
  /** the tuple last looked up in its keys, and that key: consecutive events of a packet share it */
  readonly lastTuple: Tuple = newTuple();
  lastKey = '';
  /** IP length of the first event (in time order) that carries IP headers */
  firstIpLen = 0;
  private firstIpTs = Infinity;
  /** of the first event that carried IP headers (arrival order): what later events must match */
  private firstProto = -1;
  private firstL4 = false;
  private firstSeq = 0;
  private firstFlags = 0;
  /** each directed key seen along the way, with the time and arrival of its first sighting
   * (Infinity: seen only at an IPVS transmit, which places no key in time) */
  private readonly sightings = new Map<string, { ts: number; seq: number }>();
  private arrivals = 0;
  /** orderedKeys(), until a sighting changes */
  private keyOrder: string[] | undefined;
  private sorted = true;
  private lastAddedTs = -Infinity;
  private decoded: PacketEvent[] | undefined;
  /** its records were let go of (a later packet of a flow whose first is known) */
  released = false;

  constructor(
    readonly id: number,
    readonly clock: string,
    /** its key in the JourneyTable: clock number and skb address */
    readonly tableKey: number,
    firstTs: number,
  ) {
    this.firstTs = firstTs;
    this.lastTs = firstTs;
  }

  /** the skb address's low 48 bits */
  get skb(): number {
    return this.tableKey % SKB_SPAN;
  }

  /** record i of b is this journey's: copy it and note what later events are judged by */
  add(b: EventBatch, i: number, maxEvents: number): void {
    const ts = b.tsNs(i);
    const hook = b.hook(i);
    if (ts < this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
    if (hook === Hook.CONSUME || hook === Hook.DROP) this.endTs = Math.max(this.endTs ?? 0, ts);
    if (hook === Hook.DROP) this.sawDrop = true;
    if (b.encapsulated(i)) this.sawTunnel = true;
    if (b.hasView(i)) {
      if (this.firstProto < 0) {
        this.firstProto = b.viewProto(i);
        this.firstL4 = b.viewL4(i);
        if (this.firstProto === TCP && this.firstL4) {
          this.firstSeq = b.viewTcpSeq(i);
          this.firstFlags = b.viewTcpFlags(i);
        }
      }
      if (ts < this.firstIpTs) {
        this.firstIpTs = ts;
        this.firstIpLen = b.viewIpLen(i);
      }
    }
    if (this.kept() >= maxEvents) {
      this.truncated++;
      return;
    }
    if (ts < this.lastAddedTs) this.sorted = false;
    this.lastAddedTs = ts;
    if (this.released) return;
    if (this.log) this.log.append(b, i);
    else {
      this.inBatch.push(b);
      this.atIndex.push(i);
    }
    this.decoded = undefined;
  }

  private kept(): number {
    return this.log ? this.log.length : this.atIndex.length;
  }

  /** Copies its records out of their batches, so that a journey of a long flow keeps 160
   * bytes per event alive rather than whole batches. Later events are appended to the copy. */
  compact(): void {
    if (this.log || this.released) return;
    const log = new RecordLog(this.atIndex.length);
    for (let k = 0; k < this.atIndex.length; k++) log.append(this.inBatch[k], this.atIndex[k]);
    this.log = log;
    this.inBatch = [];
    this.atIndex = [];
  }

  /** Lets go of its records: they will never be read (see Correlator.mayRelease). */
  release(): void {
    this.released = true;
    this.inBatch = [];
    this.atIndex = [];
    this.log = undefined;
    this.decoded = undefined;
  }

  /** the first directed key in time order */
  firstKey(): string | undefined {
    let best: string | undefined;
    let bt = Infinity;
    let bs = Infinity;
    for (const [k, s] of this.sightings) {
      if (s.ts === Infinity) continue;
      if (s.ts < bt || (s.ts === bt && s.seq < bs)) {
        best = k;
        bt = s.ts;
        bs = s.seq;
      }
    }
    return best;
  }

  /** A directed key was seen at time ts (in arrival order); at an IPVS transmit
   * (`placed` false) the key becomes known without a place in time. Whether it is new. */
  sawKey(key: string, ts: number, placed: boolean): boolean {
    const seq = this.arrivals++;
    const at = placed ? ts : Infinity;
    const s = this.sightings.get(key);
    if (!s) {
      this.sightings.set(key, { ts: at, seq });
      this.keyOrder = undefined;
      return true;
    }
    if (at < s.ts) {
      s.ts = at;
      s.seq = seq;
      this.keyOrder = undefined;
    }
    return false;
  }

  /** how many directed keys it was seen with */
  get keyCount(): number {
    return this.sightings.size;
  }

  /** the directed tuples it was seen with, in time order of their first sighting */
  orderedKeys(): string[] {
    this.keyOrder ??= [...this.sightings]
      .filter(([, s]) => s.ts !== Infinity)
      .sort((a, b) => a[1].ts - b[1].ts || a[1].seq - b[1].seq)
      .map(([k]) => k);
    return this.keyOrder;
  }

  /** events in time order (stable: equal timestamps keep their arrival order), decoded */
  ordered(): PacketEvent[] {
    if (!this.decoded) {
      const events: PacketEvent[] = [];
      if (this.log) {
        const b = this.log.batch();
        for (let i = 0; i < b.length; i++) events.push(b.event(i));
      } else {
        for (let k = 0; k < this.atIndex.length; k++) events.push(this.inBatch[k].event(this.atIndex[k]));
      }
      if (!this.sorted) events.sort((x, y) => x.tsNs - y.tsNs);
      this.decoded = events;
    }
    return this.decoded;
  }

  /** the first event that carries IP headers */
  firstHeaders(): PacketEvent | undefined {
    return this.ordered().find((e) => l3View(e) !== undefined);
  }

  /** Whether record i of b can be this journey's packet: a freed-and-reused skb whose free
   * we missed shows up as a different TCP segment, or after a long silence. */
  accepts(b: EventBatch, i: number, reuseGapNs: number): boolean {
    const ts = b.tsNs(i);
    if (this.endTs !== undefined) return ts <= this.endTs;
    const hook = b.hook(i);
    if (ts - this.lastTs > reuseGapNs && hook !== Hook.CONSUME && hook !== Hook.DROP) return false;
    if (this.firstProto < 0 || !b.hasView(i)) return true;
    // NAT changes addresses, not these
    if (b.viewProto(i) !== this.firstProto) return false;
    if (this.firstProto !== TCP || !this.firstL4 || !b.viewL4(i)) return true;
    return b.viewTcpSeq(i) === this.firstSeq && b.viewTcpFlags(i) === this.firstFlags;
  }
}

export interface JourneyCounters {
  journeys: number;
  /** in-flight journeys pushed out of a full table */
  journeysEvicted: number;
  /** skbs whose free was never seen before the address carried another packet */
  missedFrees: number;
  /** events past a journey's event limit */
  eventsTruncated: number;
}


/** The in-flight journeys, by (clock, skb). Bounded: the oldest is evicted when full. */
export class JourneyTable {
  private readonly bySkb = new Map<number, Journey>();
  private nextId = 1;
  readonly counters: JourneyCounters = { journeys: 0, journeysEvicted: 0, missedFrees: 0, eventsTruncated: 0 };

  constructor(
    private readonly maxJourneys: number,
    private readonly maxEvents: number,
    private readonly reuseGapNs: number,
  ) {}

  get size(): number {
    return this.bySkb.size;
  }

  /** the table key of an skb on the clock numbered clockNo */
  static key(clockNo: number, skb: number): number {
    return clockNo * SKB_SPAN + skb;
  }

  has(key: number): boolean {
    return this.bySkb.has(key);
  }

  /** the journey record i of b belongs to (a new one when its skb is new or was reused) */
  place(b: EventBatch, i: number, key: number, clock: string): { journey: Journey; fresh: boolean } {
    const ts = b.tsNs(i);
    let j = this.bySkb.get(key);
    // a late event of the packet this address carried before
    if (j?.previous?.endTs !== undefined && ts < j.firstTs && ts <= j.previous.endTs) j = j.previous;
    else if (j && !j.accepts(b, i, this.reuseGapNs)) {
      if (j.endTs === undefined) this.counters.missedFrees++;
      j = undefined;
    }
    let fresh = false;
    if (!j) {
      if (this.bySkb.size >= this.maxJourneys) this.evictOldest();
      const before = this.bySkb.get(key);
      j = new Journey(this.nextId++, clock, key, ts);
      if (before?.endTs !== undefined) j.previous = before;
      this.bySkb.delete(key); // re-insert: Map order is age order
      this.bySkb.set(key, j);
      this.counters.journeys++;
      fresh = true;
    }
    const kept = j.truncated;
    j.add(b, i, this.maxEvents);
    if (j.truncated !== kept) this.counters.eventsTruncated++;
    return { journey: j, fresh };
  }

  /** Forget journeys that ended before `endedBefore` or went silent before `silentBefore`
   * (their hops stay with their flow; only the skb mapping goes). */
  sweep(endedBefore: number, silentBefore: number): void {
    for (const [key, j] of this.bySkb) {
      if ((j.endTs !== undefined && j.endTs < endedBefore) || j.lastTs < silentBefore) {
        this.bySkb.delete(key);
      }
      else if (j.previous?.endTs !== undefined && j.previous.endTs < endedBefore) j.previous = undefined;
    }
  }

  forget(j: Journey): void {
    if (this.bySkb.get(j.tableKey) === j) this.bySkb.delete(j.tableKey);
  }

  private evictOldest(): void {
    // ended journeys are only kept for late events: drop those first
    let looked = 0;
    for (const [key, j] of this.bySkb) {
      if (j.endTs !== undefined) {
        this.bySkb.delete(key);
        return;
      }
      if (++looked === 64) break;
    }
    const oldest = this.bySkb.entries().next().value;
    if (!oldest) return;
    this.bySkb.delete(oldest[0]);
    this.counters.journeysEvicted++;
  }
}
