// Journeys: one packet's life on one node, identified by its sk_buff and bounded by its
// free (kfree_skb or consume_skb). The skb address is reused as soon as it is freed, so an
// event later than the free starts a new journey; an event earlier than the free (a batch
// from another CPU arriving late) still belongs to the old one.
import { Hook } from '../events/hooks.js';
import type { PacketEvent, PacketHeaders } from '../events/decode.js';
import { l3View, sameSegment } from './tuple.js';
import type { Flow } from './flow.js';

export type Direction = 'forward' | 'reply';

export class Journey {
  readonly events: PacketEvent[] = [];
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
  /** the datagram keys this journey is indexed under (for clone detection) */
  readonly datagramKeys: string[] = [];
  /** directed tuple keys seen along the way */
  readonly keys = new Set<string>();
  private sorted = true;
  private firstView?: PacketHeaders;

  constructor(
    readonly id: number,
    readonly clock: string,
    readonly skb: string,
    first: PacketEvent,
  ) {
    this.firstTs = first.tsNs;
    this.lastTs = first.tsNs;
  }

  add(ev: PacketEvent, maxEvents: number): void {
    if (this.events.length >= maxEvents) {
      this.truncated++;
      return;
    }
    const last = this.events[this.events.length - 1];
    if (last && ev.tsNs < last.tsNs) this.sorted = false;
    this.events.push(ev);
    if (!this.firstView) this.firstView = l3View(ev);
    if (ev.tsNs < this.firstTs) this.firstTs = ev.tsNs;
    if (ev.tsNs > this.lastTs) this.lastTs = ev.tsNs;
    if (ev.hook === Hook.CONSUME || ev.hook === Hook.DROP) this.endTs = Math.max(this.endTs ?? 0, ev.tsNs);
    if (ev.hook === Hook.DROP) this.sawDrop = true;
  }

  /** events in time order (stable: equal timestamps keep their arrival order) */
  ordered(): PacketEvent[] {
    if (!this.sorted) {
      this.events.sort((a, b) => a.tsNs - b.tsNs);
      this.sorted = true;
    }
    return this.events;
  }

  /** the first event that carries IP headers */
  firstHeaders(): PacketEvent | undefined {
    return this.ordered().find((e) => l3View(e) !== undefined);
  }

  /** Whether ev can be this journey's packet: a freed-and-reused skb whose free we missed
   * shows up as a different TCP segment, or after a long silence. */
  accepts(ev: PacketEvent, reuseGapNs: number): boolean {
    if (this.endTs !== undefined) return ev.tsNs <= this.endTs;
    if (ev.tsNs - this.lastTs > reuseGapNs && ev.hook !== Hook.CONSUME && ev.hook !== Hook.DROP) return false;
    const h = l3View(ev);
    return !h || !this.firstView || sameSegment(this.firstView, h);
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
  private readonly bySkb = new Map<string, Journey>();
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

  /** the journey ev belongs to, and whether it was just started */
  has(clock: string, skb: string): boolean {
    return this.bySkb.has(`${clock}|${skb}`);
  }

  /** the journey ev belongs to (a new one when its skb is new or was reused) */
  place(ev: PacketEvent, clock: string): { journey: Journey; fresh: boolean } {
    const key = `${clock}|${ev.skb}`;
    let j = this.bySkb.get(key);
    // a late event of the packet this address carried before
    if (j?.previous?.endTs !== undefined && ev.tsNs < j.firstTs && ev.tsNs <= j.previous.endTs) j = j.previous;
    else if (j && !j.accepts(ev, this.reuseGapNs)) {
      if (j.endTs === undefined) this.counters.missedFrees++;
      j = undefined;
    }
    let fresh = false;
    if (!j) {
      if (this.bySkb.size >= this.maxJourneys) this.evictOldest();
      const before = this.bySkb.get(key);
      j = new Journey(this.nextId++, clock, ev.skb, ev);
      if (before?.endTs !== undefined) j.previous = before;
      this.bySkb.delete(key); // re-insert: Map order is age order
      this.bySkb.set(key, j);
      this.counters.journeys++;
      fresh = true;
    }
    const kept = j.truncated;
    j.add(ev, this.maxEvents);
    if (j.truncated !== kept) this.counters.eventsTruncated++;
    return { journey: j, fresh };
  }

  /** Forget journeys that ended before `endedBefore` or went silent before `silentBefore`
   * (their hops stay with their flow; only the skb mapping goes). */
  sweep(endedBefore: number, silentBefore: number): void {
    for (const [key, j] of this.bySkb) {
      if ((j.endTs !== undefined && j.endTs < endedBefore) || j.lastTs < silentBefore) this.bySkb.delete(key);
      else if (j.previous?.endTs !== undefined && j.previous.endTs < endedBefore) j.previous = undefined;
    }
  }

  forget(j: Journey): void {
    const key = `${j.clock}|${j.skb}`;
    if (this.bySkb.get(key) === j) this.bySkb.delete(key);
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
