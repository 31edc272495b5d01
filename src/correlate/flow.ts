// Flows: both directions of a connection. A journey joins the flow that already knows any
// tuple it was seen with; since NAT rewrites happen on the same skb, one journey carries
// both the tuple before and after each rewrite, and the reply, seen with the rewritten
// tuples reversed, lands in the same flow.
import type { Journey } from './journey.js';
import { keyHash, reverseKey } from '../events/tuple-key.js';
import { NumberTable } from './number-table.js';

const FIN = 0x01;
const RST = 0x04;

export class Flow {
  readonly journeys: Journey[] = [];
  /** the directed tuple keys the table finds it by: each seen, then its reverse */
  readonly keys: string[] = [];
  /** keyHash of each pair of keys (a key and its reverse hash alike): keys[2p] and
   * keys[2p + 1] are under keyHashes[p] */
  readonly keyHashes: number[] = [];
  firstTs = Infinity;
  lastTs = 0;
  /** journeys carrying a FIN (the close needs one each way) */
  fins = 0;
  reset = false;
  evicted = false;
  /** the earliest journey that started with each directed key */
  readonly firstByKey = new Map<string, Journey>();
  /** journeys before this index hold their own copies of their records */
  compactedTo = 0;
  /** its journeys in time order with directions assigned, when the close check of the
   * tick that reports it found them (Correlator.record takes them instead of again) */
  directed?: { journeys: Journey[]; tuples: string[] };

  constructor(readonly seq: number) {}

  add(j: Journey): void {
    this.journeys.push(j);
    j.flow = this;
    this.touch(j);
  }

  touch(j: Journey): void {
    if (j.firstTs < this.firstTs) this.firstTs = j.firstTs;
    if (j.lastTs > this.lastTs) this.lastTs = j.lastTs;
  }

  /** the reverse of a key (its partner in keys, which holds both directions of every
   * tuple seen: nothing to print again) */
  reverseOf(k: string): string {
    const at = this.keys.indexOf(k);
    return at >= 0 ? this.keys[at ^ 1] : reverseKey(k);
  }

  /** j started with directed key k */
  noteFirst(k: string, j: Journey): void {
    const known = this.firstByKey.get(k);
    if (!known || j.firstTs < known.firstTs) this.firstByKey.set(k, j);
  }

  noteTcpFlags(j: Journey): void {
    if (j.tcpFlags & RST) this.reset = true;
    if (j.tcpFlags & FIN) this.fins++;
  }
}

export interface FlowCounters {
  flows: number;
  /** live flows pushed out (reported early, state "evicted") because the table was full */
  flowsEvicted: number;
}

/** Live flows, by every tuple they were seen with. Bounded: the flow idle the longest is
 * reported early (as evicted) to make room. Keyed by the keys' hashes: a Map keyed by the
 * key strings hashed each new one and compared it with the one it held, and grew and
 * shrank its table as the flows came and went — a tenth of a replay's time. A key and its
 * reverse hash alike (keyHash hashes the connection), so each tuple is one entry, found
 * both ways round: half the entries to add and take out, in a table too large for the
 * cache, where each costs a miss. */
export class FlowTable {
  private readonly byHash = new NumberTable<Flow>();
  /** keys whose hash another flow's key holds in byHash (never seen yet: 53 bits) */
  private readonly collided = new Map<string, Flow>();
  /** the key find() last found, as its flow holds it */
  private found = '';
  readonly live = new Set<Flow>();
  private nextSeq = 1;
  readonly counters: FlowCounters = { flows: 0, flowsEvicted: 0 };

  constructor(
    private readonly maxFlows: number,
    private readonly onEvict: (f: Flow) => void,
    /** keyHash, or (tests) one that collides */
    private readonly hash: (key: string) => number = keyHash,
  ) {}

  /** Join journey j to the flow of `key` (a directed tuple it was seen with). The table
   * holds both directions of every tuple, so the reverse is printed once per tuple, not
   * at every sighting. Returns the flow's own copy of key: journeys keep that one, and
   * the copy each brought (one per packet and rewrite) dies young. */
  link(j: Journey, key: string): string {
    const hash = this.hash(key);
    const known = this.find(key, hash);
    const own = known ? this.found : key;
    let flow = j.flow;
    if (!flow && known) {
      flow = known;
      flow.add(j);
    } else if (!flow) {
      if (this.live.size >= this.maxFlows) this.evictIdlest();
      flow = new Flow(this.nextSeq++);
      this.counters.flows++;
      this.live.add(flow);
      flow.add(j);
    } else if (known && known !== flow) {
      flow = this.merge(known, flow);
    }
    if (!known) {
      const back = reverseKey(key);
      this.index(key, back, hash, flow);
      flow.keys.push(key, back);
      flow.keyHashes.push(hash);
    }
    flow.touch(j);
    return own;
  }

  /** the flow that has key (the one holding its hash, if that one has the key itself);
   * `found` is then that flow's copy of it */
  private find(key: string, hash: number): Flow | undefined {
    let f = this.byHash.get(hash);
    let at = f ? f.keys.indexOf(key) : -1;
    if (at < 0) {
      f = this.collided.size ? this.collided.get(key) : undefined;
      at = f ? f.keys.indexOf(key) : -1;
    }
    if (at < 0) return undefined;
    this.found = f!.keys[at];
    return f;
  }

  /** a key no live flow has yet, and its reverse, are flow's from now on */
  private index(key: string, back: string, hash: number, flow: Flow): void {
    const holder = this.byHash.get(hash);
    if (!holder) this.byHash.set(hash, flow);
    // holding the hash for another of its keys, flow is found by these too (find)
    else if (holder !== flow) {
      this.collided.set(key, flow);
      this.collided.set(back, flow);
    }
  }

  /** the older flow absorbs the younger */
  private merge(a: Flow, b: Flow): Flow {
    const [keep, gone] = a.firstTs < b.firstTs || (a.firstTs === b.firstTs && a.seq < b.seq) ? [a, b] : [b, a];
    for (const hash of gone.keyHashes) {
      if (this.byHash.get(hash) === gone) this.byHash.set(hash, keep);
      keep.keyHashes.push(hash);
    }
    for (const key of gone.keys) {
      if (this.collided.size && this.collided.get(key) === gone) this.collided.set(key, keep);
      keep.keys.push(key);
    }
    for (const j of gone.journeys) keep.add(j);
    for (const [k, j] of gone.firstByKey) keep.noteFirst(k, j);
    keep.fins += gone.fins;
    keep.reset ||= gone.reset;
    this.live.delete(gone);
    return keep;
  }

  /** take a finished flow out of the table */
  remove(f: Flow): void {
    this.live.delete(f);
    for (let p = 0; p < f.keyHashes.length; p++) this.byHash.deleteIf(f.keyHashes[p], f);
    if (this.collided.size) {
      for (const key of f.keys) if (this.collided.get(key) === f) this.collided.delete(key);
    }
  }

  private evictIdlest(): void {
    // the oldest flows are first in the set: the idlest of those, not a scan of all
    let idlest: Flow | undefined;
    let looked = 0;
    for (const f of this.live) {
      if (!idlest || f.lastTs < idlest.lastTs) idlest = f;
      if (++looked === 64) break;
    }
    if (!idlest) return;
    idlest.evicted = true;
    this.counters.flowsEvicted++;
    this.remove(idlest);
    this.onEvict(idlest);
  }
}
