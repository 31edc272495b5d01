// Journeys: one packet's life on one node, identified by its sk_buff and bounded by its
// free (kfree_skb or consume_skb). The skb address is reused as soon as it is freed, so an
// event later than the free starts a new journey; an event earlier than the free (a batch
// from another CPU arriving late) still belongs to the old one.
//
// A journey keeps its records (in their batches, or its own RecordLog) and as numbers only
// what placing later events needs; they are read again when, and if, its hops are built.
// Most journeys of a long flow never are: only the first packet each way (and dropped
// ones) get hops.
import { Hook } from '../events/hooks.js';
import type { EventBatch } from '../events/decode.js';
import { RecordList } from '../events/record-list.js';
import { RecordLog } from '../events/record-log.js';
import { RecordRefs } from '../events/record-refs.js';
import type { Flow } from './flow.js';
import { NumberTable } from './number-table.js';
import { skbOfKey } from '../events/skb-key.js';
import { MANY_TUNNELS, NO_TUNNEL, noteTunnelDatagram } from './tuple.js';

export type Direction = 'forward' | 'reply';

const TCP = 6;

/** directed keys a journey has room for before its arrays grow: one, and one per rewrite */
const KEY_ROOM = 4;

// Where a journey keeps its numbers (Journey.n). V8 keeps a double-valued field of an
// object (a timestamp, a 53-bit key or hash, a sequence number above 2^31) in a heap
// number of its own, and every array in two objects: a replay holds thousands of journeys
// alive at once, and each of those objects is one more for every collection to trace and
// copy. One array of doubles holds them all, unboxed.
const FIRST_TS = 0;
const LAST_TS = 1;
/** its free's time, or NO_END */
const END_TS = 2;
const FIRST_IP_TS = 3;
const TUNNEL = 4;
const FIRST_SEQ = 5;
const TABLE_KEY = 6;
/** then, per directed key k: the time and arrival of its first sighting, and the k-th
 * datagram hash the journey is indexed under (never more of those than keys: a datagram
 * is noted only with a new key) */
const KEYS = 7;
const KEY_SLOTS = 3;
const NO_END = -1;

/** A journey is its own RecordRefs: its records while they are still in the batches they
 * came in (a field of its own would be one more object per packet in flight, for every
 * collection to trace and copy). */
export class Journey extends RecordRefs {
  /** its records once the journey outlives its place in the table: its own copy (its refs
   * are then cleared, and add() appends here) */
  private log: RecordLog | undefined;
  /** events past maxEvents, not kept */
  truncated = 0;
  /** its numbers (see FIRST_TS above) */
  private readonly n: number[];
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
  /** how many datagram hashes this journey is indexed under (for clone detection):
   * datagramKey(0) on */
  nDatagrams = 0;
  /** the key of the tuple it was last seen with: consecutive events of a packet share it */
  lastKey = '';
  /** IP length of the first event (in time order) that carries IP headers */
  firstIpLen = 0;
  /** of the first event that carried IP headers (arrival order): what later events must match */
  private firstProto = -1;
  private firstL4 = false;
  private firstFlags = 0;
  /** each directed key seen along the way, with the time and arrival of its first sighting
   * (Infinity: seen only at an IPVS transmit, which places no key in time) in n: a handful
   * per packet (one more per rewrite), so small arrays searched in order. They start with
   * room for KEY_ROOM keys (an empty array's first push makes room for 17, and a replay
   * keeps thousands of journeys alive at once); nKeys of them are used. */
  private readonly keys: string[] = new Array<string>(KEY_ROOM);
  private nKeys = 0;
  private arrivals = 0;
  /** orderedKeys(), until a sighting changes */
  private keyOrder: string[] | undefined;
  private sorted = true;
  /** records(), until a record is added */
  private inOrder: RecordList | undefined;
  /** its records were let go of (a later packet of a flow whose first is known) */
  released = false;

  constructor(
    readonly id: number,
    readonly clock: string,
    /** its key in the JourneyTable: clock number and skb address */
    tableKey: number,
    firstTs: number,
  ) {
    super();
    // a literal with a double in it (Infinity): the array is born unboxed, at the size it
    // keeps unless a journey sees more than KEY_ROOM keys
    this.n = [
      firstTs, firstTs, NO_END, Infinity, NO_TUNNEL, 0, tableKey,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
  }

  get firstTs(): number {
    return this.n[FIRST_TS];
  }
  get lastTs(): number {
    return this.n[LAST_TS];
  }
  /** the free that ended it */
  get endTs(): number | undefined {
    const e = this.n[END_TS];
    return e === NO_END ? undefined : e;
  }
  /** its key in the JourneyTable: clock number and skb address */
  get tableKey(): number {
    return this.n[TABLE_KEY];
  }
  /** the datagram it carried encapsulated (tuple.ts noteTunnelDatagram), or NO_TUNNEL */
  get tunnelDatagram(): number {
    return this.n[TUNNEL];
  }
  /** the k-th datagram hash it is indexed under (k < nDatagrams) */
  datagramKey(k: number): number {
    return this.n[KEYS + KEY_SLOTS * k + 2];
  }

  /** whether any event is VXLAN-encapsulated (a tunnel crossing may continue elsewhere) */
  get sawTunnel(): boolean {
    return this.tunnelDatagram !== NO_TUNNEL;
  }

  /** the skb address's low 48 bits */
  get skb(): number {
    return skbOfKey(this.tableKey);
  }

  /** record i of b is this journey's: keep it and note what later events are judged by.
   * ts, hook and vo (b.viewOff(i)) are read once by the caller. */
  add(b: EventBatch, i: number, maxEvents: number, ts: number, hook: number, vo: number): void {
    const n = this.n;
    if (ts < n[FIRST_TS]) n[FIRST_TS] = ts;
    // records are kept in arrival order (until the event limit): out of order if earlier
    // than any before
    if (ts < n[LAST_TS]) this.sorted = false;
    else n[LAST_TS] = ts;
    if (hook === Hook.CONSUME || hook === Hook.DROP) n[END_TS] = Math.max(n[END_TS], ts);
    if (hook === Hook.DROP) this.sawDrop = true;
    if (n[TUNNEL] !== MANY_TUNNELS && b.encapsulated(i)) n[TUNNEL] = noteTunnelDatagram(n[TUNNEL], b, i);
    if (vo >= 0) {
      if (this.firstProto < 0) {
        this.firstProto = b.protoAt(vo);
        this.firstL4 = b.viewL4(i);
        if (this.firstProto === TCP && this.firstL4) {
          n[FIRST_SEQ] = b.tcpSeqAt(vo);
          this.firstFlags = b.tcpFlagsAt(vo);
        }
      }
      if (ts < n[FIRST_IP_TS]) {
        n[FIRST_IP_TS] = ts;
        this.firstIpLen = b.ipLenAt(vo);
      }
    }
    if (this.kept() >= maxEvents) {
      this.truncated++;
      return;
    }
    if (this.released) return;
    if (this.log) this.log.append(b, i);
    else this.append(b, i);
    this.inOrder = undefined;
  }

  /** Records from to end (not included) of b are this journey's, and they repeat the one
   * add() took last (EventBatch.repeats: the same packet, no free among them), in time order
   * from fromTs to lastTs: all add() would note of each is the time, and whether it is kept.
   * Returns how many were past maxEvents. */
  addRun(b: EventBatch, from: number, end: number, maxEvents: number, fromTs: number, lastTs: number): number {
    const n = this.n;
    if (fromTs < n[LAST_TS]) this.sorted = false;
    if (lastTs > n[LAST_TS]) n[LAST_TS] = lastTs;
    if (this.released) return 0;
    const room = Math.max(0, maxEvents - this.kept());
    const keep = Math.min(end - from, room);
    const past = end - from - keep;
    this.truncated += past;
    if (!keep) return past;
    if (this.log) for (let i = from; i < from + keep; i++) this.log.append(b, i);
    else this.appendRun(b, from, from + keep);
    this.inOrder = undefined;
    return past;
  }

  private kept(): number {
    return this.log ? this.log.length : this.length;
  }

  /** Copies its records out of their batches, so that a journey of a long flow keeps 160
   * bytes per event alive rather than whole batches. Later events are appended to the copy. */
  compact(): void {
    if (this.log || this.released) return;
    const log = new RecordLog(this.length);
    this.forEach((b, i) => log.append(b, i));
    this.log = log;
    this.clearRefs();
    // nor may a list of them made before (records()) be read again
    this.inOrder = undefined;
  }

  /** Lets go of its records: they will never be read (see Correlator.mayRelease). */
  release(): void {
    this.released = true;
    this.clearRefs();
    this.log = undefined;
    this.inOrder = undefined;
  }

  /** it is indexed under datagram hash dh too (noted with its newest key: the slot is there) */
  indexedUnder(dh: number): void {
    this.n[KEYS + KEY_SLOTS * this.nDatagrams++ + 2] = dh;
  }

  /** Whether one of its records carries the datagram record i of b does (a datagram hash
   * matched: this confirms it). When the record that matched may be gone (let go of, or
   * past the event limit) the 53-bit hash stands alone. */
  carries(b: EventBatch, i: number): boolean {
    if (this.released || this.truncated) return true;
    return this.someRecord((rb, ri) => b.sameDatagram(i, rb, ri));
  }

  /** its kept records in arrival order, wherever they are (log or batches), until fn
   * says stop; whether it did */
  private someRecord(fn: (b: EventBatch, i: number) => boolean): boolean {
    if (!this.log) return this.some(fn);
    const lb = this.log.batch();
    for (let k = 0; k < lb.length; k++) if (fn(lb, k)) return true;
    return false;
  }

  /** whether key p was first sighted before key q (in time, then arrival) */
  private sightedBefore(p: number, q: number): boolean {
    const n = this.n;
    const tp = n[KEYS + KEY_SLOTS * p];
    const tq = n[KEYS + KEY_SLOTS * q];
    return tp < tq || (tp === tq && n[KEYS + KEY_SLOTS * p + 1] < n[KEYS + KEY_SLOTS * q + 1]);
  }

  /** the first directed key in time order */
  firstKey(): string | undefined {
    let best = -1;
    for (let k = 0; k < this.nKeys; k++) {
      if (this.n[KEYS + KEY_SLOTS * k] === Infinity) continue;
      if (best < 0 || this.sightedBefore(k, best)) best = k;
    }
    return best < 0 ? undefined : this.keys[best];
  }

  /** A directed key was seen at time ts (in arrival order); at an IPVS transmit
   * (`placed` false) the key becomes known without a place in time. Whether it is new. */
  sawKey(key: string, ts: number, placed: boolean): boolean {
    const at = placed ? ts : Infinity;
    let k = this.nKeys - 1;
    while (k >= 0 && this.keys[k] !== key) k--;
    const n = this.n;
    if (k < 0) {
      k = this.nKeys++;
      this.keys[k] = key;
      const s = KEYS + KEY_SLOTS * k;
      // past KEY_ROOM keys the array grows by a key's slots (its datagram slot included)
      if (s >= n.length) n.push(at, this.arrivals++, 0);
      else {
        n[s] = at;
        n[s + 1] = this.arrivals++;
      }
      this.keyOrder = undefined;
      return true;
    }
    const s = KEYS + KEY_SLOTS * k;
    if (at < n[s]) {
      n[s] = at;
      n[s + 1] = this.arrivals++;
      this.keyOrder = undefined;
    }
    return false;
  }

  /** sawKey for the key last seen (lastKey), which most events of a packet carry: only an
   * earlier time changes anything */
  sawLastKeyAgain(ts: number): void {
    const k = this.nKeys - 1;
    if (k >= 0 && this.keys[k] === this.lastKey) {
      if (ts >= this.n[KEYS + KEY_SLOTS * k]) return;
    }
    this.sawKey(this.lastKey, ts, true);
  }

  /** the key sawKey just added, as its flow holds it: kept instead of the copy the event
   * brought */
  ownKey(own: string): void {
    const k = this.nKeys - 1;
    if (this.keys[k] === own) this.keys[k] = own;
    if (this.lastKey === own) this.lastKey = own;
  }

  /** how many directed keys it was seen with */
  get keyCount(): number {
    return this.nKeys;
  }

  /** the directed tuples it was seen with, in time order of their first sighting */
  orderedKeys(): string[] {
    if (!this.keyOrder) {
      // a handful of keys: an insertion sort by (time, arrival), without Array.sort's work
      const out: string[] = [];
      const outAt: number[] = [];
      for (let k = 0; k < this.nKeys; k++) {
        if (this.n[KEYS + KEY_SLOTS * k] === Infinity) continue;
        let at = out.length;
        for (; at > 0 && this.sightedBefore(k, outAt[at - 1]); at--) {
          out[at] = out[at - 1];
          outAt[at] = outAt[at - 1];
        }
        out[at] = this.keys[k];
        outAt[at] = k;
      }
      this.keyOrder = out;
    }
    return this.keyOrder;
  }

  /** its kept records in time order (stable: equal timestamps keep their arrival order) */
  records(): RecordList {
    if (!this.inOrder) {
      const list = new RecordList(this.kept());
      this.someRecord((b, i) => {
        list.push(b, i);
        return false;
      });
      if (!this.sorted) list.sortByTime();
      this.inOrder = list;
    }
    return this.inOrder;
  }

  /** Whether record i of b can be this journey's packet: a freed-and-reused skb whose free
   * we missed shows up as a different TCP segment, or after a long silence. */
  accepts(b: EventBatch, i: number, reuseGapNs: number, ts: number, hook: number, vo: number): boolean {
    const n = this.n;
    if (n[END_TS] !== NO_END) return ts <= n[END_TS];
    if (ts - n[LAST_TS] > reuseGapNs && hook !== Hook.CONSUME && hook !== Hook.DROP) return false;
    if (this.firstProto < 0 || vo < 0) return true;
    // NAT changes addresses, not these
    if (b.protoAt(vo) !== this.firstProto) return false;
    if (this.firstProto !== TCP || !this.firstL4 || !b.viewL4(i)) return true;
    return b.tcpSeqAt(vo) === n[FIRST_SEQ] && b.tcpFlagsAt(vo) === this.firstFlags;
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


/** The in-flight journeys, by (clock, skb). Bounded: when full, a journey is evicted to
 * make room: an ended one (kept only for late events) if a sample of the table holds one,
 * else the sample's idlest. */
export class JourneyTable {
  private readonly bySkb = new NumberTable<Journey>();
  private nextId = 1;
  /** whether the journey place() last returned is new */
  fresh = false;
  /** the key place() last found in the table, and its journey (dropped whenever the table
   * lets go of a journey) */
  private lastKey = -1;
  private lastJourney: Journey | undefined;
  /** where the next eviction sample starts: it moves on, so every slot gets its turn */
  private evictFrom = 0;
  readonly counters: JourneyCounters = { journeys: 0, journeysEvicted: 0, missedFrees: 0, eventsTruncated: 0 };

  constructor(
    private readonly maxJourneys: number,
    private readonly maxEvents: number,
    private readonly reuseGapNs: number,
    /** a journey never freed leaves the table at time ts, and no event finds it there again:
     * its skb carries another packet (a free we missed), or it was evicted */
    private readonly left: (j: Journey, ts: number) => void = () => {},
  ) {}

  get size(): number {
    return this.bySkb.size;
  }

  has(key: number): boolean {
    return key === this.lastKey || this.bySkb.has(key);
  }

  /** the journey record i of b belongs to (a new one when its skb is new or was reused;
   * `fresh` then says so until the next call). ts, hook and vo: as Journey.add takes them. */
  place(b: EventBatch, i: number, key: number, clock: string, ts: number, hook: number, vo: number): Journey {
    // the records of one packet mostly come one after another: skip the lookup
    const inTable = key === this.lastKey ? this.lastJourney : this.bySkb.get(key);
    let j = inTable;
    // a late event of the packet this address carried before
    if (j?.previous?.endTs !== undefined && ts < j.firstTs && ts <= j.previous.endTs) j = j.previous;
    else if (j && !j.accepts(b, i, this.reuseGapNs, ts, hook, vo)) {
      if (j.endTs === undefined) {
        this.counters.missedFrees++;
        this.left(j, ts);
      }
      j = undefined;
    }
    this.fresh = false;
    if (!j) {
      if (!inTable && this.bySkb.size >= this.maxJourneys) this.evictOne(ts);
      j = new Journey(this.nextId++, clock, key, ts);
      if (inTable?.endTs !== undefined) j.previous = inTable;
      this.bySkb.set(key, j);
      this.counters.journeys++;
      this.fresh = true;
      this.lastKey = key;
      this.lastJourney = j;
    } else if (j === inTable) {
      this.lastKey = key;
      this.lastJourney = j;
    }
    const kept = j.truncated;
    j.add(b, i, this.maxEvents, ts, hook, vo);
    if (j.truncated !== kept) this.counters.eventsTruncated++;
    return j;
  }

  /** whether the journey place() returned last is the one its skb's next records go to */
  current(j: Journey): boolean {
    return this.lastJourney === j && this.lastKey === j.tableKey;
  }

  /** Records from to end (not included) of b repeat the one place() put in j last (see
   * Journey.addRun), in time order from fromTs to lastTs, and none is later than that one
   * by the gap that would make it another packet: what place() would do with each. */
  extend(j: Journey, b: EventBatch, from: number, end: number, fromTs: number, lastTs: number): void {
    this.counters.eventsTruncated += j.addRun(b, from, end, this.maxEvents, fromTs, lastTs);
  }

  /** the gap after which a record of a journey's skb is another packet's (Journey.accepts) */
  get reuseGap(): number {
    return this.reuseGapNs;
  }

  /** Forget journeys that ended before `endedBefore` or went silent before `silentBefore`
   * (their hops stay with their flow; only the skb mapping goes). `each` sees every
   * journey the table holds first: the one pass over the packets in flight a tick makes. */
  sweep(endedBefore: number, silentBefore: number, each?: (j: Journey) => void): void {
    this.bySkb.deleteWhere((j) => {
      each?.(j);
      if ((j.endTs !== undefined && j.endTs < endedBefore) || j.lastTs < silentBefore) return true;
      if (j.previous?.endTs !== undefined && j.previous.endTs < endedBefore) j.previous = undefined;
      return false;
    });
    this.lastKey = -1;
  }

  forget(j: Journey): void {
    this.bySkb.deleteIf(j.tableKey, j);
    if (j.tableKey === this.lastKey) this.lastKey = -1;
  }

  /** ended journeys are only kept for late events: one of those goes first, else the
   * idlest of the sample (a table this full is a burst; the exact oldest is not worth
   * keeping an age order of every packet for) */
  private evictOne(ts: number): void {
    this.lastKey = -1;
    const t = this.bySkb;
    let victim = -1;
    let looked = 0;
    for (let n = 0; n < t.capacity && looked < 64; n++) {
      const s = (this.evictFrom + n) & (t.capacity - 1);
      const j = t.valueAt(s);
      if (!j) continue;
      looked++;
      if (j.endTs !== undefined) {
        victim = s;
        break;
      }
      if (victim < 0 || j.lastTs < t.valueAt(victim)!.lastTs) victim = s;
    }
    if (victim < 0) return;
    this.evictFrom = (victim + 1) & (t.capacity - 1);
    const j = t.valueAt(victim)!;
    if (j.endTs === undefined) {
      this.counters.journeysEvicted++;
      this.left(j, ts);
    }
    t.delete(t.keyAt(victim));
  }
}
