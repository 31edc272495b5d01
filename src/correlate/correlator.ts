// Events → journeys → flows → flow records. Pure: time only moves with the timestamps it is
// given (events, and advance(now) from the source), so a recording replays to the same
// records. Every table is bounded and every eviction is counted.
import { EventBatch, type PacketEvent } from '../events/decode.js';
import { encodeEvents } from '../events/encode.js';
import { RecordLog } from '../events/record-log.js';
import { Hook } from '../events/hooks.js';
import { Flow, FlowTable } from './flow.js';
import { NumberTable } from './number-table.js';
import { Journey, JourneyTable } from './journey.js';
import { ClockNumbers, skbKey } from '../events/skb-key.js';
import { assignDirections, closedBothWays, timeOrder } from './direction.js';
import type { FlowRecord, FlowState } from './model.js';
import type { Namer } from './namer.js';
import { FlowRecordBuilder, type FinishedFlow } from './flow-record.js';

export interface CorrelatorOptions {
  namer: Namer;
  /** CLOCK_MONOTONIC ns of a clock → wall-clock ns (for the records' `start`) */
  wallClock: (clock: string, monoNs: number) => number;
  /** keep only the flows this accepts (--container, --service, --netns) */
  accept?: (f: FlowRecord) => boolean;
  maxJourneys?: number;
  maxFlows?: number;
  maxEventsPerJourney?: number;
  /** a flow with no packet for this long is reported (state "timeout", or "dropped") */
  flowTimeoutNs?: number;
  /** a closed TCP flow waits this long for its last ACKs */
  closeLingerNs?: number;
  /** how long a freed skb's journey still takes late events (batches from other CPUs) */
  reorderNs?: number;
  /** finished flows go here to become records (filtered, numbered and printed there: a
   * replay's record thread), instead of being built here; its journeys' records are read
   * before it returns */
  handOff?: (f: FinishedFlow, idleState: FlowState) => void;
}

export interface CorrelatorCounters {
  events: number;
  journeys: number;
  flows: number;
  flowsReported: number;
  /** flows left out by --container/--service/--netns */
  flowsFiltered: number;
  flowsEvicted: number;
  journeysEvicted: number;
  missedFrees: number;
  eventsTruncated: number;
  /** frees of skbs never seen before (nothing to attach them to) */
  eventsWithoutPacket: number;
  clones: number;
}

const CLONE_WINDOW_NS = 1_000_000;
/** a packet never freed and silent this long is no clone's parent */
const STALE_NS = 1e9;

/** flows younger than this keep their journeys' records in the batches they came in */
const COMPACT_AFTER_NS = 1e9;

export class Correlator {
  private readonly journeys: JourneyTable;
  private readonly flows: FlowTable;
  /** every form of a live packet's datagram (datagramHash), for clone detection */
  private readonly datagrams = new NumberTable<Journey>();
  /** the datagram hashes of freed journeys, with the journey and its free, in arrival
   * order: each leaves the index once no clone can still come (retireDatagrams), read
   * without touching the journey again (a cache miss per packet, long after its free) */
  private readonly retiring: number[] = [];
  private readonly retiringOf: Journey[] = [];
  private readonly retiringAt: number[] = [];
  private retireHead = 0;
  private readonly pending: Flow[] = [];
  /** frees that came before any other event of their skb, by table key */
  private readonly orphanFrees = new Map<number, RecordLog>();
  /** clock name → its number in journey table keys */
  private readonly clocks = new ClockNumbers();
  private readonly o: Required<Omit<CorrelatorOptions, 'accept' | 'handOff'>> & Pick<CorrelatorOptions, 'accept' | 'handOff'>;
  private readonly builder: FlowRecordBuilder;
  private nextId = 1;
  private events = 0;
  private eventsWithoutPacket = 0;
  private clones = 0;
  private reported = 0;
  private filtered = 0;

  constructor(opts: CorrelatorOptions) {
    this.o = {
      maxJourneys: 65536,
      maxFlows: 65536,
      maxEventsPerJourney: 256,
      flowTimeoutNs: 5e9,
      closeLingerNs: 250e6,
      reorderNs: 50e6,
      ...opts,
    };
    this.builder = new FlowRecordBuilder(this.o);
    this.journeys = new JourneyTable(this.o.maxJourneys, this.o.maxEventsPerJourney, 1e9, (j, ts) => this.leftUnfreed(j, ts));
    this.flows = new FlowTable(this.o.maxFlows, (f) => this.pending.push(f));
  }

  /** Decoded events (tests, and sources that build events): encoded to records first, so
   * they take the same road as the kernel's. */
  push(events: Iterable<PacketEvent>, clock = 'local'): void {
    const list = [...events];
    if (list.length) this.pushBatch(new EventBatch(encodeEvents(list), list.length), clock);
  }

  /** The records of a batch, in order; `select` leaves some out (a replay's filter), and
   * each is then taken alone. */
  pushBatch(b: EventBatch, clock = 'local', select?: (i: number) => boolean): void {
    const clockNo = this.clocks.of(clock);
    for (let i = 0; i < b.length; ) {
      if (!b.valid(i) || (select && !select(i))) {
        i++;
        continue;
      }
      const j = this.one(b, i, clock, clockNo, skbKey(clockNo, b.skbKey(i)));
      i = j && !select ? this.takeRun(b, i, j) : i + 1;
    }
  }

  /** The records after record i of b that repeat it (EventBatch.repeats: the same packet
   * between two rewrites) change nothing one() looks at but its journey's time and records:
   * a probe hands a packet's events over one after another, so most records are one of
   * these, and are taken here as one run. Returns where the run ends. One() decides how each
   * record of a run would be taken from the first one's place, so this stops where one()
   * could take a record differently: at a free or an IPVS transmit (either might end or
   * move the journey), at a record earlier than the one before (which makes the journey
   * unsorted), or one later by the gap after which a record is another packet's, and after
   * a record that went to a journey other than its skb's current one (a late event of the
   * packet before). */
  private takeRun(b: EventBatch, i: number, j: Journey): number {
    let end = i + 1;
    if (end >= b.length || j.endTs !== undefined || !this.journeys.current(j)) return end;
    const head = b.hook(i);
    if (head === Hook.CONSUME || head === Hook.DROP || head === Hook.IPVS_NAT_XMIT) return end;
    const gap = this.journeys.reuseGap;
    const fromTs = b.tsNs(end);
    let lastTs = b.tsNs(i);
    for (; end < b.length; end++) {
      const hook = b.hook(end);
      if (hook === Hook.CONSUME || hook === Hook.DROP || hook === Hook.IPVS_NAT_XMIT || !b.valid(end) || !b.repeats(end, i)) break;
      const ts = end === i + 1 ? fromTs : b.tsNs(end);
      if (ts < lastTs || ts - lastTs > gap) break;
      lastTs = ts;
    }
    if (end > i + 1) {
      this.events += end - i - 1;
      this.journeys.extend(j, b, i + 1, end, fromTs, lastTs);
      j.flow?.touch(j);
    }
    return end;
  }

  /** Takes record i of b; returns the journey it went to (none: a free kept for later) */
  private one(b: EventBatch, i: number, clock: string, clockNo: number, key: number): Journey | undefined {
    this.events++;
    const hook = b.hook(i);
    const vo = b.viewOff(i);
    if (vo < 0 && (hook === Hook.CONSUME || hook === Hook.DROP) && !this.journeys.has(key)) {
      // the free may have overtaken the packet's first events (another CPU's batch)
      const free = new RecordLog();
      free.append(b, i);
      this.orphanFrees.set(key, free);
      return undefined;
    }
    const ts = b.tsNs(i);
    const j = this.journeys.place(b, i, key, clock, ts, hook, vo);
    if (this.journeys.fresh && this.orphanFrees.size) {
      const free = this.orphanFrees.get(key);
      if (free && free.batch().tsNs(0) >= ts) {
        this.orphanFrees.delete(key);
        const fb = free.batch();
        j.add(fb, 0, this.o.maxEventsPerJourney, fb.tsNs(0), fb.hook(0), fb.viewOff(0));
      }
    }
    if (hook === Hook.CONSUME) this.mayRelease(j);
    if (hook === Hook.CONSUME || hook === Hook.DROP) {
      for (let k = 0; k < j.nDatagrams; k++) this.queueRetire(j.datagramKey(k), j, j.endTs!);
    }
    const proto = vo < 0 ? -1 : b.protoAt(vo);
    if (vo < 0 || (!b.viewL4(i) && proto !== 1 && proto !== 58)) {
      if (j.flow) j.flow.touch(j);
      return j;
    }
    // a packet's events mostly carry the tuple its last one did, whatever other packets'
    // records came between: compared in place, nothing printed
    const placed = hook !== Hook.IPVS_NAT_XMIT;
    if (j.lastKey !== '' && b.hasTupleKey(i, j.lastKey)) {
      if (placed) j.sawLastKeyAgain(ts);
      j.flow?.touch(j);
      return j;
    }
    const dkey = b.tupleKey(i);
    j.lastKey = dkey;
    const first = j.keyCount === 0;
    if (!j.sawKey(dkey, ts, placed)) {
      j.flow?.touch(j);
      return j;
    }
    this.noteDatagram(j, ts, b, i, clockNo, first);
    if (first && proto === 6) j.tcpFlags = b.tcpFlagsAt(vo);
    const own = this.flows.link(j, dkey);
    j.ownKey(own);
    if (first) {
      j.flow!.noteTcpFlags(j);
      j.flow!.noteFirst(own, j);
    }
    return j;
  }

  /** At its free, a journey whose records no flow record will read lets go of them: not a
   * drop, not a clone or a clone's parent, not through a tunnel (whose other side is
   * searched for), and a later packet than another that started with the same tuple —
   * that one, not this, is its direction's first packet, the only one whose hops are
   * built. Long flows then keep a summary per packet, not its events. */
  private mayRelease(j: Journey): void {
    const f = j.flow;
    if (!f || j.released || j.sawDrop || j.parent || j.clones || j.sawTunnel) return;
    const k = j.firstKey();
    const y = k === undefined ? undefined : f.firstByKey.get(k);
    if (y && y !== j && !y.parent && y.firstTs < j.firstTs && y.firstKey() === k) j.release();
  }

  /** A new skb carrying the very datagram another live skb carries is its clone (a bridge
   * flooding, a tap). Every form a journey takes (after each rewrite) is remembered, since a
   * bridge can flood after a DNAT. */
  private noteDatagram(j: Journey, ts: number, b: EventBatch, i: number, clockNo: number, first: boolean): void {
    this.retireDatagrams(ts);
    const dh = b.datagramHash(i, clockNo);
    const other = this.datagrams.get(dh);
    const alive =
      other !== undefined &&
      other !== j &&
      other.firstTs <= ts &&
      (other.endTs === undefined || ts - other.endTs < CLONE_WINDOW_NS) &&
      (!first || other.carries(b, i));
    if (first && alive) {
      j.parent = other;
      other.clones++;
      this.clones++;
    }
    if (!alive) {
      this.datagrams.set(dh, j);
      j.indexedUnder(dh);
      // a late event (another CPU's batch) of a packet already freed
      if (j.endTs !== undefined) this.queueRetire(dh, j, j.endTs);
    }
  }

  /** j, ended at `at`, is indexed under dh: when no clone can still come, dh goes (a
   * journey's free time never moves: anything later than it is another journey) */
  private queueRetire(dh: number, j: Journey, at: number): void {
    this.retiring.push(dh);
    this.retiringOf.push(j);
    this.retiringAt.push(at);
  }

  /** A journey whose free never came left the journey table at ts (its skb carries another
   * packet, or it was evicted): no event reaches it any more, so it ends there as far as
   * clones go. Without this its datagrams stayed in the index until they went stale: in
   * the lab's traffic 5 of a flow's 12 packets lose their skb that way, and their
   * datagrams were most of the index. */
  private leftUnfreed(j: Journey, ts: number): void {
    for (let k = 0; k < j.nDatagrams; k++) this.queueRetire(j.datagramKey(k), j, ts);
  }

  /** A freed packet's datagrams stop being candidates for clones CLONE_WINDOW_NS after its
   * free, and later still by reorderNs (another CPU's batch may bring the clone late):
   * they leave the index then rather than with their flow, which keeps it to the packets
   * in flight — small enough to stay in the cache. */
  private retireDatagrams(nowNs: number): void {
    const at = this.retiringAt;
    const before = nowNs - CLONE_WINDOW_NS - this.o.reorderNs;
    let h = this.retireHead;
    // a hash another journey took over since stays with that one (deleteIf)
    for (; h < at.length && at[h] < before; h++) this.datagrams.deleteIf(this.retiring[h], this.retiringOf[h]);
    if (h >= 1024 && 2 * h >= at.length) {
      this.retiring.splice(0, h);
      this.retiringOf.splice(0, h);
      at.splice(0, h);
      h = 0;
    }
    this.retireHead = h;
  }

  private forgetDatagrams(j: Journey): void {
    for (let k = 0; k < j.nDatagrams; k++) this.datagrams.deleteIf(j.datagramKey(k), j);
    j.nDatagrams = 0;
  }

  /** Time has reached nowNs on the source's clock: report the flows that are done (to
   * `sink` one by one as they are built, or as the returned list). */
  advance(nowNs: number, sink?: (rec: FlowRecord) => void): FlowRecord[] {
    // a packet in flight whose free never came, silent for a second, stops being a
    // candidate for clones (one that left the table went through leftUnfreed): the
    // datagram index holds no one else's, so this pass over the table covers it
    const staleBefore = nowNs - STALE_NS;
    this.journeys.sweep(nowNs - this.o.reorderNs, nowNs - this.o.flowTimeoutNs, (j) => {
      if (j.endTs === undefined && j.nDatagrams && j.lastTs < staleBefore) this.forgetDatagrams(j);
    });
    // a quiet spell notes no datagrams: freed packets leave the index (and the queue) here
    this.retireDatagrams(nowNs);
    this.orphanFrees.forEach((free, k) => {
      if (free.batch().tsNs(0) < nowNs - this.o.reorderNs) {
        this.orphanFrees.delete(k);
        this.eventsWithoutPacket++;
      }
    });
    const done: Flow[] = [...this.pending.splice(0)];
    for (const f of this.flows.live) {
      // a flow this old may go on for long: its journeys copy their records out of the
      // batches, or a trickle of packets would keep every batch of the replay alive
      if (nowNs - f.firstTs > COMPACT_AFTER_NS) {
        for (; f.compactedTo < f.journeys.length; f.compactedTo++) f.journeys[f.compactedTo].compact();
      }
      const idle = nowNs - f.lastTs;
      if (idle >= this.o.flowTimeoutNs) done.push(f);
      else if (idle >= this.o.closeLingerNs && (f.reset || (f.fins >= 2 && this.closed(f)))) done.push(f);
    }
    return this.report(done, 'timeout', sink);
  }

  /** The source has ended: report every flow still open. */
  flush(sink?: (rec: FlowRecord) => void): FlowRecord[] {
    return this.report([...this.pending.splice(0), ...this.flows.live], 'open', sink);
  }

  /** a flow's journeys in time order, each given its direction; the forward tuples */
  private direct(f: Flow): { journeys: Journey[]; tuples: string[] } {
    const journeys = timeOrder(f.journeys);
    return { journeys, tuples: assignDirections(journeys, (k) => f.reverseOf(k)) };
  }

  /** whether a FIN went each way; kept for the record when it did (it is reported now) */
  private closed(f: Flow): boolean {
    const d = this.direct(f);
    if (!closedBothWays(d.journeys, true)) return false;
    f.directed = d;
    return true;
  }

  counters(): CorrelatorCounters {
    const jc = this.journeys.counters;
    const fc = this.flows.counters;
    return {
      events: this.events,
      journeys: jc.journeys,
      flows: fc.flows,
      flowsReported: this.reported,
      flowsFiltered: this.filtered,
      flowsEvicted: fc.flowsEvicted,
      journeysEvicted: jc.journeysEvicted,
      missedFrees: jc.missedFrees,
      eventsTruncated: jc.eventsTruncated,
      eventsWithoutPacket: this.eventsWithoutPacket,
      clones: this.clones,
    };
  }

  /** A sink gets each record as soon as it is built: a tick's records all alive at once
   * would be copied by every young-generation collection until the list is handed over. */
  private report(flows: Flow[], idleState: FlowState, sink?: (rec: FlowRecord) => void): FlowRecord[] {
    flows.sort((a, b) => a.firstTs - b.firstTs || a.seq - b.seq);
    const out: FlowRecord[] = [];
    for (const f of flows) {
      this.flows.remove(f);
      for (const j of f.journeys) {
        this.journeys.forget(j);
        this.forgetDatagrams(j);
      }
      // directions found by the close check of this same tick still hold: no event came since
      const { journeys, tuples } = f.directed ?? this.direct(f);
      f.directed = undefined;
      const finished: FinishedFlow = { firstTs: f.firstTs, lastTs: f.lastTs, evicted: f.evicted, reset: f.reset, closed: f.fins >= 2 && closedBothWays(journeys, true), journeys, tuples };
      // built here, or handed over (its records are read before handOff returns)
      const rec = this.o.handOff ? this.o.handOff(finished, idleState) : this.builder.build(finished, idleState);
      // its events, decoded for the record, would otherwise live as long as the whole
      // tick's flows do and be copied by every young-generation collection meanwhile
      for (const j of f.journeys) j.release();
      if (!rec) continue;
      if (this.o.accept && !this.o.accept(rec)) {
        this.filtered++;
        continue;
      }
      rec.id = this.nextId++;
      this.reported++;
      if (sink) sink(rec);
      else out.push(rec);
    }
    return out;
  }
}
