// One journey's events → the hops a person reads. Consecutive events at the same device
// are one hop (tc-ingress, recv and the netfilter hooks of one crossing); a netfilter
// before/after pair whose headers differ is a hop of its own (the NAT step, with what it
// changed); an encapsulation or decapsulation is a change on the first hop that sees it;
// a drop is the last hop, where the packet died and why.
import type { EventBatch, PacketHeaders } from '../events/decode.js';
import { Dir, Hook } from '../events/hooks.js';
import type { RecordList } from '../events/record-list.js';
import { protoName, tcpFlagString } from '../events/proto.js';
import type { Change, Hop, HopHeaders, HopWhat, PathEnd } from './model.js';
import type { Namer } from './namer.js';
import { nameChange, type RawChange } from './rewrite.js';
import type { Direction } from './journey.js';
import { dstText, srcText } from './tuple.js';
import { boundHookLists, hookLabel, hookList, NO_HOOKS, withLabel } from './hook-lists.js';

/** frees that are the end of a normal life, not a loss: a socket purging what nobody read */
const BENIGN_DROPS = new Set(['QUEUE_PURGE', 'SOCKET_CLOSE']);

/** Whether a kfree_skb with this reason, in namespace netns (0: none), ends a path as
 * delivered rather than dropped: with no device the socket layer freed it, and without a
 * reason that is TCP's way of discarding what it handled (an ACK to a TIME_WAIT socket),
 * not a loss. */
function benignDrop(reason: string, netns: number): boolean {
  return BENIGN_DROPS.has(reason) || (reason === 'NOT_SPECIFIED' && !netns);
}

/** Whether buildHops would end these records' path 'dropped': their first free (in time
 * order) is a kfree_skb that is no benign one. Read without building a hop: most packets
 * that met a kfree_skb met a benign one, and their hops are not needed to know it. */
export function endsDropped(recs: RecordList, namer: Namer): boolean {
  for (let k = 0; k < recs.length; k++) {
    const b = recs.batches[k];
    const i = recs.index[k];
    const hook = b.hook(i);
    if (hook === Hook.CONSUME) return false;
    if (hook === Hook.DROP) return !benignDrop(namer.dropReason(b.dropReason(i)), b.netns(i));
  }
  return false;
}

/** by hook number: 1 where a packet comes in (a table: every record of a path asks) */
const INGRESS = new Uint8Array(256);
for (const h of [Hook.TC_INGRESS, Hook.DEV_RECV, Hook.BR_HANDLE, Hook.VXLAN_RCV]) INGRESS[h] = 1;

function nfStage(aux: number): 'before' | 'after' {
  return (aux >>> 16) & 0xff ? 'after' : 'before';
}

function direction(hook: number, dir: number): 'in' | 'out' | 'seen' {
  if (hook === Hook.NF) return dir === Dir.INGRESS ? 'in' : 'out';
  // a pcap without direction (tcpdump on one device) only says the packet was there
  if (hook === Hook.CAPTURED) return dir === Dir.INGRESS ? 'in' : dir === Dir.EGRESS ? 'out' : 'seen';
  return INGRESS[hook] ? 'in' : 'out';
}

export function hopHeaders(h: PacketHeaders, mark: number): HopHeaders {
  const tcp = h.proto === 6 && h.l4;
  // every field in one literal, absent ones undefined (JSON leaves them out): each added
  // afterwards would grow a property array of its own
  return {
    proto: protoName(h.proto),
    src: srcText(h),
    dst: dstText(h),
    ip_id: h.ipId,
    len: h.ipLen,
    flags: tcp ? tcpFlagString(h.tcpFlags) : undefined,
    seq: tcp ? h.tcpSeq : undefined,
    ack: tcp ? h.tcpAck : undefined,
    mark: mark || undefined,
  };
}

/** whether srcText (or dstText) of a and b is the same, without printing either: most
 * events change nothing */
function sameEnd(a: PacketHeaders, b: PacketHeaders, end: 'src' | 'dst'): boolean {
  if (a.l4 !== b.l4 || a.family !== b.family) return false;
  return end === 'src' ? a.saddr === b.saddr && (!a.l4 || a.sport === b.sport) : a.daddr === b.daddr && (!a.l4 || a.dport === b.dport);
}

const NO_CHANGES: RawChange[] = [];
/** the changes of a record, or a hop, that made none: shared, so frozen (a hop that later
 * makes some gets a list of its own) */
const NO_HOP_CHANGES = Object.freeze([]) as unknown as Change[];

function rawChanges(prev: PacketHeaders, cur: PacketHeaders, prevMark: number, curMark: number): RawChange[] {
  // records of a packet share one headers object until a rewrite (Views): mostly the same
  if ((curMark === 0 || curMark === prevMark) && (prev === cur || (sameEnd(prev, cur, 'dst') && sameEnd(prev, cur, 'src')))) {
    return NO_CHANGES;
  }
  const out: RawChange[] = [];
  const mark = prevMark;
  if (curMark !== 0 && curMark !== prevMark) out.push({ field: 'mark', from: `0x${prevMark.toString(16)}`, to: String(curMark), mark });
  // printed only where they differ (the same ends print the same), and once
  if (!sameEnd(prev, cur, 'dst')) {
    const from = dstText(prev);
    const to = dstText(cur);
    if (from !== to) out.push({ field: 'dst', from, to, mark: curMark || mark });
  }
  if (!sameEnd(prev, cur, 'src')) {
    const from = srcText(prev);
    const to = srcText(cur);
    if (from !== to) out.push({ field: 'src', from, to, mark: curMark || mark });
  }
  return out;
}

export interface BuiltPath {
  hops: Hop[];
  end: PathEnd;
  drop?: { where: string; reason: string };
}

/** Hops are built field by field in their printed order, never by spreading a place into
 * a literal: V8 gives spread-built objects a slow shape, and that alone made building
 * hops most of a replay's time. What needs none of buildHops' state is a module function
 * (it runs twice per flow): only the printed-headers cache is a closure. */
function newHop(namer: Namer, netns: number, ifindex: number, what: HopWhat, hooks: string[], tNs: number): Hop {
  const d = ifindex ? namer.device(netns, ifindex) : undefined;
  const ns = d ? undefined : namer.netns(netns);
  const nsText = d ? '' : ns ? `${ns.node} · ${ns.display}` : `netns ${netns}`;
  // every field in one literal, in printed order, absent ones undefined (JSON leaves them
  // out): a hop that grew field by field reallocated its property array as it went
  return {
    node: d ? d.node : (ns?.node ?? '?'),
    netns: d ? d.netns : (ns?.display ?? String(netns)),
    netns_inode: netns,
    device: d?.device,
    ifindex: ifindex || undefined,
    kind: d?.kind,
    network: d?.network || undefined,
    where: d ? d.label : ifindex ? `${nsText} · if${ifindex}` : nsText,
    what,
    hooks,
    t_ns: tNs,
    latency_ns: null,
    headers: undefined,
    vxlan: undefined,
    changes: NO_HOP_CHANGES,
    drop_reason: undefined,
  };
}

/** appends a hop, its latency measured from the one before */
function append(hops: Hop[], hop: Hop): Hop {
  hop.latency_ns = hops.length ? hop.t_ns - hops[hops.length - 1].t_ns : null;
  hops.push(hop);
  return hop;
}

function named(raw: RawChange[], netns: number, dir: Direction, namer: Namer): Change[] {
  return raw.length ? raw.map((c) => nameChange(c, dir, namer.netns(netns))) : [];
}

/** The records' view headers, decoded in order, each once (a netfilter pair asks for the
 * next one ahead): consecutive records share one object until a rewrite, so most cost a
 * comparison of their bytes. */
class Views {
  private last: PacketHeaders | undefined;
  private lastB: EventBatch | undefined;
  private lastI = 0;
  /** the record decoded last */
  private at = -1;

  constructor(private readonly recs: RecordList) {}

  /** record k's. Asked in order (the record after the last, or that one again), each is
   * compared with the one before; out of order it is still decoded right, only less often
   * shared (view() lends an object only to the same bytes). */
  of(k: number): PacketHeaders | undefined {
    if (k !== this.at) {
      const b = this.recs.batches[k];
      const i = this.recs.index[k];
      this.last = b.view(i, this.last, this.lastB, this.lastI);
      this.lastB = b;
      this.lastI = i;
      this.at = k;
    }
    return this.last;
  }
}

/** the hooks of a drop's hop */
const DROP_HOOKS = Object.freeze(['drop']) as unknown as string[];

/** The hops of the records from `from` on (a journey's, in time order). */
export function buildHops(recs: RecordList, dir: Direction, namer: Namer, from = 0): BuiltPath {
  boundHookLists();
  const hops: Hop[] = [];
  const views = new Views(recs);
  let cur: Hop | undefined;
  /** the number of cur's hook list (hook-lists.ts) */
  let curHooks = NO_HOOKS;
  /** the device the current hop is at; -1 after a hop of its own (drop, NAT, load balancer) */
  let curNetns = -1;
  let curIfindex = -1;
  let prev: PacketHeaders | undefined;
  let prevMark = 0;
  /** -1: the previous record with headers was not encapsulated */
  let prevVni = -1;
  /** the namespace of the previous record: a mark cannot survive leaving one (the veth and
   * VXLAN crossings scrub it), so within one a changed mark is a rule's doing */
  let lastNetns = 0;
  let end: PathEnd = 'open';
  let drop: BuiltPath['drop'];
  // the hops showing one decoded headers object (and mark) share its printed form too
  // (they are read, never changed)
  let shownView: PacketHeaders | undefined;
  let shownMark = 0;
  let shown: HopHeaders | undefined;
  const show = (view: PacketHeaders, mark: number): HopHeaders => {
    if (view !== shownView || mark !== shownMark || !shown) {
      shown = hopHeaders(view, mark);
      shownView = view;
      shownMark = mark;
    }
    return shown;
  };

  for (let k = from; k < recs.length; k++) {
    const b = recs.batches[k];
    const i = recs.index[k];
    const hook = b.hook(i);
    const netns = b.netns(i);
    const ifindex = b.ifindex(i);
    if (hook === Hook.CONSUME) {
      end = cur && cur.what === 'out' && cur.kind !== 'veth' ? 'left' : 'delivered';
      break;
    }
    if (hook === Hook.DROP) {
      const reason = namer.dropReason(b.dropReason(i));
      if (benignDrop(reason, netns)) {
        end = 'delivered';
        break;
      }
      const at = netns ? newHop(namer, netns, ifindex, 'drop', DROP_HOOKS, b.tsNs(i)) : newHop(namer, cur ? cur.netns_inode : 0, 0, 'drop', DROP_HOOKS, b.tsNs(i));
      at.drop_reason = reason;
      append(hops, at);
      end = 'dropped';
      drop = { where: at.where, reason };
      break;
    }
    const view = views.of(k);
    const mark = b.mark(i);
    const vni = b.vni(i);
    let changes: Change[] = NO_HOP_CHANGES;
    const sameNetns = lastNetns === netns;
    lastNetns = netns;
    if (view && prev) {
      if (vni >= 0 && prevVni < 0) {
        const outer = b.outer(i);
        if (outer) changes = [{ kind: 'VXLAN-encap', field: 'tunnel', vni, from: srcText(outer), to: dstText(outer) }];
      } else if (vni < 0 && prevVni >= 0) {
        changes = [{ kind: 'VXLAN-decap', field: 'tunnel', vni: prevVni }];
      }
    }

    // the load balancer: IPVS picked a real server and rewrites the destination to it
    const svc = hook === Hook.IPVS_NAT_XMIT && view ? b.ipvs(i) : undefined;
    if (svc && view) {
      // what the rules did since the packet entered this namespace (mangle MARK with the
      // fwmark IPVS matches on, a REDIRECT): seen here when no netfilter link showed it
      // (kernels before 6.4)
      if (prev && sameNetns) changes = [...changes, ...named(rawChanges(prev, view, prevMark, mark), netns, dir, namer)];
      const rule = `ipvs ${svc.fwmark ? `FWM ${svc.fwmark}` : `${protoName(svc.virtual.proto)} ${dstText(svc.virtual)}`}`;
      changes = [...changes, { kind: 'IPVS', field: 'dst', from: dstText(view), to: dstText(svc.real), rule }];
      const lb = newHop(namer, netns, ifindex, 'lb', hookList(withLabel(NO_HOOKS, hookLabel(hook, 0))), b.tsNs(i));
      lb.headers = show(view, mark);
      lb.changes = changes;
      cur = append(hops, lb);
      curNetns = curIfindex = -1;
      prev = { ...view, daddr: svc.real.daddr, dport: svc.real.dport };
      prevMark = mark;
      continue;
    }

    // a netfilter pair around the NAT priorities whose headers differ: the NAT step
    /** the record after the rewrite: this one, or the next */
    let after = -1;
    let afterView: PacketHeaders | undefined;
    let natChanges: RawChange[] = NO_CHANGES;
    if (hook === Hook.NF && view) {
      const aux = b.aux(i);
      const nb = recs.batches[k + 1];
      const ni = recs.index[k + 1];
      if (nfStage(aux) === 'before' && nb && nb.hook(ni) === Hook.NF && nb.netns(ni) === netns) {
        const naux = nb.aux(ni);
        const nv = views.of(k + 1);
        if (nfStage(naux) === 'after' && (naux & 0xff) === (aux & 0xff) && nv && (natChanges = rawChanges(view, nv, mark, nb.mark(ni))).length) {
          after = k + 1;
          afterView = nv;
        }
      } else if (nfStage(aux) === 'after' && prev && (natChanges = rawChanges(prev, view, prevMark, mark)).length) {
        after = k;
        afterView = view;
      }
    }
    if (after >= 0 && afterView && view) {
      const ab = recs.batches[after];
      const ai = recs.index[after];
      changes = [...changes, ...named(natChanges, netns, dir, namer)];
      const first = withLabel(NO_HOOKS, hookLabel(hook, b.aux(i)));
      const hooks = hookList(after === k ? first : withLabel(first, hookLabel(Hook.NF, ab.aux(ai))));
      const isLb = changes.some((c) => c.kind === 'IPVS');
      const nat = newHop(namer, netns, ifindex, isLb ? 'lb' : 'nat', hooks, b.tsNs(i));
      nat.headers = show(afterView, ab.mark(ai));
      nat.changes = changes;
      cur = append(hops, nat);
      curNetns = curIfindex = -1;
      prev = afterView;
      prevMark = ab.mark(ai);
      prevVni = ab.vni(ai);
      k = after;
      continue;
    }

    // a rewrite seen only between two device hops (no netfilter link there, or a pcap)
    if (view && prev) {
      // from a capture the rewrite happened somewhere between two devices, maybe in another
      // namespace: named by what changed, without claiming this namespace's rule made it
      const at = hook === Hook.CAPTURED ? 0 : netns;
      const raw = rawChanges(prev, view, prevMark, mark);
      if (raw.length) changes = [...changes, ...named(raw.filter((c) => c.field !== 'mark' || hook === Hook.NF || sameNetns), at, dir, namer)];
    }
    const d = direction(hook, b.dir(i));
    if (cur && curNetns === netns && curIfindex === ifindex) {
      const grown = withLabel(curHooks, hookLabel(hook, b.aux(i)));
      if (grown !== curHooks) cur.hooks = hookList((curHooks = grown));
      if (cur.what !== d && d !== 'seen' && (cur.what === 'in' || cur.what === 'out')) cur.what = 'through';
      if (changes.length) {
        if (cur.changes === NO_HOP_CHANGES) cur.changes = changes;
        else cur.changes.push(...changes);
      }
      if (view && !cur.headers) cur.headers = show(view, mark);
    } else {
      curHooks = withLabel(NO_HOOKS, hookLabel(hook, b.aux(i)));
      const h = newHop(namer, netns, ifindex, d, hookList(curHooks), b.tsNs(i));
      if (view) h.headers = show(view, mark);
      if (vni >= 0) {
        const outer = b.outer(i);
        if (outer) h.vxlan = { vni, src: srcText(outer), dst: dstText(outer) };
      }
      // this record's list (made for it), or none yet: later records at this device add to it
      h.changes = changes;
      cur = append(hops, h);
      curNetns = netns;
      curIfindex = ifindex;
    }
    if (view) {
      prev = view;
      prevMark = mark;
      prevVni = vni;
    }
  }
  const out: BuiltPath = { hops, end };
  if (drop) out.drop = drop;
  return out;
}
