// A finished flow → the record a person reads: its journeys (in time order, each with its
// direction) become each direction's path, from the hops of its first packet, continued
// across tunnels into the other node's journey of the same datagram, with the drops and the
// counts of the packets. Pure: it reads the journeys' records and names them, nothing else,
// so it can run wherever those records are (the correlator's thread, or a thread of its own
// in a replay: record-thread.ts).
import type { EventBatch } from '../events/decode.js';
import type { RecordList } from '../events/record-list.js';
import { buildHops, endsDropped, hopHeaders, type BuiltPath } from './hops.js';
import type { Direction } from './journey.js';
import type { DropSummary, FlowRecord, FlowState, Path } from './model.js';
import type { Namer } from './namer.js';
import { MANY_TUNNELS, vxlanKey } from './tuple.js';
import { tupleText } from '../events/tuple-key.js';

/** what a record reads of a journey (Journey is one; record-wire.ts makes others) */
export interface RecordJourney {
  readonly parent?: RecordJourney;
  readonly clones: number;
  readonly sawDrop: boolean;
  /** the datagram it carried through a tunnel (tuple.ts noteTunnelDatagram), or NO_TUNNEL */
  readonly tunnelDatagram: number;
  readonly firstIpLen: number;
  readonly firstTs: number;
  readonly lastTs: number;
  readonly clock: string;
  /** its clock and skb: two nodes' journeys of one datagram differ in it */
  readonly tableKey: number;
  readonly dir?: Direction;
  /** its kept records in time order */
  records(): RecordList;
}

/** a flow the correlator is done with */
export interface FinishedFlow {
  firstTs: number;
  lastTs: number;
  evicted: boolean;
  reset: boolean;
  /** a FIN went each way */
  closed: boolean;
  /** in time order, each with its direction */
  journeys: RecordJourney[];
  /** the forward tuples (tuple keys), in the order they were learnt */
  tuples: string[];
}

type Branch = { journey: RecordJourney; built: BuiltPath };
type Branches = Map<RecordJourney, Branch>;

export interface FlowRecordOptions {
  namer: Namer;
  /** CLOCK_MONOTONIC ns of a clock → wall-clock ns (for the records' `start`) */
  wallClock: (clock: string, monoNs: number) => number;
}

export class FlowRecordBuilder {
  constructor(private readonly o: FlowRecordOptions) {}

  build(f: FinishedFlow, idleState: FlowState): FlowRecord {
    const { journeys, tuples } = f;
    const packets = { forward: 0, reply: 0 };
    const bytes = { forward: 0, reply: 0 };
    let drops: Map<string, DropSummary> | undefined;
    // the best branches of this flow's packets, found once: a map of the record's own, since
    // a long-lived one's table sits in the old generation, and the hops written into it
    // would outlive every young-generation collection until the next full one
    const branches: Branches = new Map();
    let lastEnd: 'drop' | 'other' = 'other';
    let lastTs = -Infinity;
    for (const j of journeys) {
      if (j.parent) continue;
      const dir = j.dir ?? 'forward';
      packets[dir]++;
      bytes[dir] += j.firstIpLen;
      // a copy dropped while another copy went on (a bridge flooding) is not a lost packet:
      // hops are built, to say where it died, only when every copy ended in a loss
      const branch = this.lost(j, journeys) ? this.bestBranch(j, journeys, branches) : undefined;
      const drop = branch?.built.end === 'dropped' ? branch.built.drop : undefined;
      if (drop) {
        const k = `${dir}|${drop.where}|${drop.reason}`;
        drops ??= new Map();
        const d = drops.get(k) ?? { direction: dir, where: drop.where, reason: drop.reason, count: 0 };
        d.count++;
        drops.set(k, d);
      }
      if (j.lastTs >= lastTs) {
        lastTs = j.lastTs;
        lastEnd = drop ? 'drop' : 'other';
      }
    }
    const forward = this.path(journeys, 'forward', branches);
    const reply = this.path(journeys, 'reply', branches);
    const clock = journeys[0]?.clock ?? 'local';
    let client = '';
    let server = '';
    if (forward?.packet) {
      client = forward.packet.src;
      server = forward.packet.dst;
    } else if (reply?.packet) {
      client = reply.packet.dst;
      server = reply.packet.src;
    }
    const state: FlowState = f.evicted
      ? 'evicted'
      : f.reset
        ? 'reset'
        : f.closed
          ? 'closed'
          : lastEnd === 'drop'
            ? 'dropped'
            : idleState;
    return {
      type: 'flow',
      id: 0,
      proto: (forward ?? reply)?.packet.proto ?? '?',
      client,
      server,
      state,
      start: isoTime(this.o.wallClock(clock, f.firstTs) / 1e6),
      first_ns: f.firstTs,
      last_ns: f.lastTs,
      duration_ns: f.lastTs - f.firstTs,
      packets,
      bytes,
      forward,
      reply,
      drops: drops ? [...drops.values()] : [],
      tuples: tuples.map(tupleText),
    };
  }

  /** Whether every copy of root (root, its clones, theirs) ended in a drop that is a loss:
   * the best branch (bestBranch) ends in one then, and only then. Read from each copy's
   * first free (hops.ts endsDropped), without building a hop. */
  private lost(root: RecordJourney, journeys: RecordJourney[]): boolean {
    const ended = (c: RecordJourney): boolean => c.sawDrop && endsDropped(c.records(), this.o.namer);
    if (!ended(root)) return false;
    return !root.clones || copiesOf(root, journeys).every(ended);
  }

  /** Of a packet and its clones, the copy that went furthest (delivered, left the node,
   * still going, dropped), with its hops from the packet's first: the parent's up to the
   * moment of the copy, then the copy's own. */
  private bestBranch(root: RecordJourney, journeys: RecordJourney[], branches: Branches): Branch {
    const cached = branches.get(root);
    if (cached) return cached;
    const rank: Record<BuiltPath['end'], number> = { delivered: 3, left: 2, open: 1, dropped: 0 };
    const copies = copiesOf(root, journeys);
    let best: Branch | undefined;
    for (const c of copies) {
      const built = buildHops(c.records(), root.dir ?? 'forward', this.o.namer);
      if (!best || rank[built.end] > rank[best.built.end]) best = { journey: c, built };
    }
    const chosen = best!;
    let hops = chosen.built.hops;
    for (let x = chosen.journey; x.parent; x = x.parent) {
      const parentHops = buildHops(x.parent.records(), root.dir ?? 'forward', this.o.namer).hops.filter((h) => h.t_ns < x.firstTs);
      const last = parentHops[parentHops.length - 1];
      if (last && hops[0]) hops[0] = { ...hops[0], latency_ns: hops[0].t_ns - last.t_ns };
      hops = [...parentHops, ...hops];
    }
    const out = chosen.journey.parent ? { journey: chosen.journey, built: { hops, end: chosen.built.end, drop: chosen.built.drop } } : chosen;
    branches.set(root, out);
    return out;
  }

  /** the path of the first packet of a direction, continued across a VXLAN tunnel into the
   * other node's journey of the same datagram when the two are different skbs */
  private path(journeys: RecordJourney[], dir: Direction, branches: Branches): Path | null {
    const j = journeys.find((x) => !x.parent && (x.dir ?? 'forward') === dir);
    if (!j) return null;
    const recs = j.records();
    let first = 0;
    while (first < recs.length && recs.batches[first].viewOff(recs.index[first]) < 0) first++;
    if (first === recs.length) return null;
    const fb = recs.batches[first];
    const fi = recs.index[first];
    const view = fb.view(fi)!;
    const branch = this.bestBranch(j, journeys, branches);
    let built: BuiltPath = branch.built;
    // the branch's own hops, copied only when a tunnel continues them
    let hops = built.hops;
    let cur = branch.journey;
    // the journeys the path went through, once it crosses a tunnel
    let used: Set<RecordJourney> | undefined;
    for (let guard = 0; guard < 8 && built.end !== 'dropped'; guard++) {
      const crossing = lastTunnelCrossing(cur.records());
      if (!crossing) break;
      const seen = (used ??= new Set<RecordJourney>([j, cur]));
      /** where the crossing is among next's records (found once: each record's key is printed) */
      let at = -1;
      const next = journeys.find((x) => !seen.has(x) && x.tableKey !== cur.tableKey && mayCarry(x, crossing) && (at = findTunnelKey(x.records(), crossing)) >= 0);
      if (!next) break;
      seen.add(next);
      built = buildHops(next.records(), dir, this.o.namer, at);
      const firstNext = built.hops[0];
      const last = hops[hops.length - 1];
      if (firstNext && last) firstNext.latency_ns = next.clock === cur.clock ? firstNext.t_ns - last.t_ns : null;
      hops = [...hops, ...built.hops];
      cur = next;
    }
    const sameClock = cur.clock === j.clock;
    return {
      packet: hopHeaders(view, fb.mark(fi)),
      hops,
      end: built.end,
      total_ns: hops.length && sameClock ? hops[hops.length - 1].t_ns - hops[0].t_ns : null,
      clones: clonesOf(j, journeys),
    };
  }
}


/** root and its copies: its clones, theirs, and so on (a copy comes after its parent) */
function copiesOf(root: RecordJourney, journeys: RecordJourney[]): RecordJourney[] {
  const copies = [root];
  for (const x of journeys) if (x.parent && copies.includes(x.parent)) copies.push(x);
  return copies;
}

/** how many copies of j there are (clones, and clones of clones are counted with theirs) */
function clonesOf(j: RecordJourney, journeys: RecordJourney[]): number {
  let n = 0;
  for (const x of journeys) if (x.parent === j) n++;
  return n;
}

/** the last time isoTime printed, and its text: flows a replay reports one after another
 * mostly start in the same millisecond, and printing a date costs a microsecond */
let isoMs = NaN;
let isoText = '';

/** a wall-clock time in ms, printed as Date.toISOString() does */
function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  if (whole !== isoMs) {
    isoText = new Date(whole).toISOString();
    isoMs = whole;
  }
  return isoText;
}

/** a tunnel crossing: the record it was seen in, its VNI, its key (vxlanKey) and its
 * datagram's hash (of any clock) */
interface Crossing {
  batch: EventBatch;
  index: number;
  vni: number;
  key: string;
  datagram: number;
}

/** whether journey x may hold a record of crossing c: it carried c's datagram through a
 * tunnel, or datagrams it does not know one by one (one that never crossed one carried
 * none) */
function mayCarry(x: RecordJourney, c: Crossing): boolean {
  return x.tunnelDatagram === c.datagram || x.tunnelDatagram === MANY_TUNNELS;
}

/** the tunnel crossing of the last encapsulated record, which the other node's journey of
 * the datagram starts from */
function lastTunnelCrossing(recs: RecordList): Crossing | undefined {
  for (let k = recs.length - 1; k >= 0; k--) {
    const batch = recs.batches[k];
    const index = recs.index[k];
    const vni = batch.vni(index);
    if (vni < 0) continue;
    const key = vxlanKey(batch, index);
    return key === undefined ? undefined : { batch, index, vni, key, datagram: batch.datagramHash(index, 0) };
  }
  return undefined;
}

/** Where a record of this tunnel crossing is, or -1. Every journey of a flow that crossed
 * the tunnel is searched (and all of them in vain when the other node's side is the same
 * skb), so a record's key is printed only when it could match: in the same VNI, carrying
 * the same datagram (the key prints the same fields). */
function findTunnelKey(recs: RecordList, c: Crossing): number {
  for (let k = 0; k < recs.length; k++) {
    const b = recs.batches[k];
    const i = recs.index[k];
    if (b.vni(i) === c.vni && b.sameDatagram(i, c.batch, c.index) && vxlanKey(b, i) === c.key) return k;
  }
  return -1;
}
