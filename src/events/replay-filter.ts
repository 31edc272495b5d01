// The in-kernel filter (bpf/emit.h, mt_want) again, over recorded or imported events: a
// replay with --port/--host/--proto keeps exactly the events live tracing with the same
// filter would have emitted. That is stateful, as in the kernel: a packet matches by its
// headers (outer, or inner when encapsulated), by its skb having matched before (NAT
// rewrote what matched), or by its tuple belonging to a flow that matched (replies).
import { Flag } from './layout.js';
import { Hook } from './hooks.js';
import { parseCidr } from './addr.js';
import { protoNumber, type FilterSpec } from './filter.js';
import { newTuple, type EventBatch } from './decode.js';
import { reverseKey } from './tuple-key.js';
import { BoundedSet } from './bounded-set.js';
import { ClockNumbers, skbKey } from './skb-key.js';

/** the size of the kernel's tracked_skbs and tracked_tuples maps */
const TRACKED_MAX = 65536;

export class ReplayFilter {
  private readonly port: number;
  private readonly proto: number;
  private readonly cidr?: { bytes: Uint8Array; prefix: number; v6: boolean };
  private readonly netns: Set<number>;
  /** followed skbs, by clock number and the skb address's low 48 bits (EventBatch.skbKey) */
  private readonly skbs: BoundedSet<number>;
  /** followed connections, both ways, as EventBatch.tupleKey writes them */
  private readonly tuples: BoundedSet<string>;
  private readonly clocks = new ClockNumbers();
  /** the tuple remember() last saw (EventBatch.readTuple's numbers) */
  private readonly renewed = newTuple();
  /** events left out */
  filtered = 0;

  /** `capacity`: of each table, as in the kernel (tracked_skbs, tracked_tuples) */
  constructor(spec: FilterSpec, capacity = TRACKED_MAX) {
    this.skbs = new BoundedSet(capacity);
    this.tuples = new BoundedSet(capacity);
    this.port = spec.port ?? 0;
    this.proto = spec.proto === undefined ? 0 : protoNumber(spec.proto);
    this.cidr = spec.host === undefined ? undefined : parseCidr(spec.host);
    this.netns = new Set(spec.netns ?? []);
  }

  /** followed skbs and connections forgotten to make room (as the kernel's LRU maps
   * would have): later events of those may have been left out */
  get forgotten(): number {
    return this.skbs.forgotten + this.tuples.forgotten;
  }

  get empty(): boolean {
    return !this.port && !this.proto && !this.cidr && this.netns.size === 0;
  }

  wants(b: EventBatch, i: number, clock: string): boolean {
    if (this.empty) return true;
    const ok = this.decide(b, i, clock);
    if (!ok) this.filtered++;
    return ok;
  }

  private decide(b: EventBatch, i: number, clock: string): boolean {
    const hook = b.hook(i);
    const endOfLife = hook === Hook.DROP || hook === Hook.CONSUME;
    if (!endOfLife && this.netns.size && !this.netns.has(b.netns(i))) return false;
    if (!this.port && !this.proto && !this.cidr) return !(b.flags(i) & Flag.NO_L3);
    const skb = skbKey(this.clocks.of(clock), b.skbKey(i));
    if (this.skbs.has(skb)) {
      if (endOfLife) this.skbs.delete(skb);
      else this.remember(b, i);
      return true;
    }
    if (endOfLife) return false;
    const t = this.tuple(b, i);
    if (this.staticMatch(b, i) || (t !== undefined && this.tuples.has(t))) {
      this.skbs.add(skb);
      this.remember(b, i, t);
      return true;
    }
    return false;
  }

  private staticMatch(b: EventBatch, i: number): boolean {
    const f = b.flags(i);
    if (f & Flag.NO_L3) return false;
    return this.headersMatch(b, i, false, !!(f & Flag.IPV6), !!(f & Flag.L4)) || (!!(f & Flag.ENCAP) && this.headersMatch(b, i, true, !!(f & Flag.INNER_V6), !!(f & Flag.INNER_L4)));
  }

  private headersMatch(b: EventBatch, i: number, inner: boolean, v6: boolean, l4: boolean): boolean {
    if (this.proto && b.proto(i, inner) !== this.proto) return false;
    if (this.port && (!l4 || (b.sport(i, inner) !== this.port && b.dport(i, inner) !== this.port))) return false;
    if (this.cidr) {
      if (v6 !== this.cidr.v6) return false;
      if (!this.addrMatch(b.addr(i, inner, 'saddr')) && !this.addrMatch(b.addr(i, inner, 'daddr'))) return false;
    }
    return true;
  }

  private addrMatch(a: Uint8Array): boolean {
    const c = this.cidr!;
    let bits = c.prefix;
    for (let k = 0; bits > 0; k++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((a[k] & mask) !== (c.bytes[k] & mask)) return false;
    }
    return true;
  }

  /** the packet's own tuple (inner when encapsulated), as mt_flow_headers picks it;
   * undefined without ports */
  private tuple(b: EventBatch, i: number): string | undefined {
    return b.viewL4(i) ? b.tupleKey(i) : undefined;
  }

  /** record i's tuple (t, when already printed) both ways, added or renewed (a connection
   * in use is the last to be forgotten), once per run of events that carry it: a packet's
   * mostly do, and are compared as numbers without printing the tuple again */
  private remember(b: EventBatch, i: number, t?: string): void {
    if (!b.viewL4(i) || b.sameTuple(i, this.renewed)) return;
    b.readTuple(i, this.renewed);
    const k = t ?? b.tupleKey(i);
    this.tuples.add(k);
    this.tuples.add(reverseKey(k));
  }
}
