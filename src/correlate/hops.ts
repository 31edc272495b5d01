// One journey's events → the hops a person reads. Consecutive events at the same device
// are one hop (tc-ingress, recv and the netfilter hooks of one crossing); a netfilter
// before/after pair whose headers differ is a hop of its own (the NAT step, with what it
// changed); an encapsulation or decapsulation is a change on the first hop that sees it;
// a drop is the last hop, where the packet died and why.
import type { PacketEvent, PacketHeaders } from '../events/decode.js';
import { decodeNfAux, Hook, nfHookName } from '../events/hooks.js';
import { protoName, tcpFlagString } from '../events/proto.js';
import type { Change, Hop, HopHeaders, HopWhat, PathEnd } from './model.js';
import type { Namer } from './namer.js';
import { nameChange, type RawChange } from './rewrite.js';
import type { Direction } from './journey.js';
import { dstText, l3View, srcText } from './tuple.js';

/** frees that are the end of a normal life, not a loss: a socket purging what nobody read */
const BENIGN_DROPS = new Set(['QUEUE_PURGE', 'SOCKET_CLOSE']);

const INGRESS_HOOKS = new Set<number>([Hook.TC_INGRESS, Hook.DEV_RECV, Hook.BR_HANDLE, Hook.VXLAN_RCV]);

/** netfilter hook labels by hook number and stage (aux bits), printed once */
const nfLabels = new Map<number, string>();

function hookLabel(ev: PacketEvent): string {
  if (ev.hook === Hook.NF) {
    const k = ev.aux & 0xff00ff;
    let label = nfLabels.get(k);
    if (label === undefined) {
      const nf = decodeNfAux(ev.aux);
      label = `netfilter ${nfHookName[nf.hooknum] ?? nf.hooknum}${nf.stage === 'after' ? '' : ' (before NAT)'}`;
      nfLabels.set(k, label);
    }
    return label;
  }
  return ev.hookName;
}

function direction(ev: PacketEvent): 'in' | 'out' | 'seen' {
  if (ev.hook === Hook.NF) return ev.dir === 'ingress' ? 'in' : 'out';
  // a pcap without direction (tcpdump on one device) only says the packet was there
  if (ev.hook === Hook.CAPTURED) return ev.dir === 'ingress' ? 'in' : ev.dir === 'egress' ? 'out' : 'seen';
  return INGRESS_HOOKS.has(ev.hook) ? 'in' : 'out';
}

export function hopHeaders(h: PacketHeaders, mark: number): HopHeaders {
  const out: HopHeaders = { proto: protoName(h.proto), src: srcText(h), dst: dstText(h), ip_id: h.ipId, len: h.ipLen };
  if (h.proto === 6 && h.l4) {
    out.flags = tcpFlagString(h.tcpFlags);
    out.seq = h.tcpSeq;
    out.ack = h.tcpAck;
  }
  if (mark) out.mark = mark;
  return out;
}

/** whether srcText (or dstText) of a and b is the same, without printing either: most
 * events change nothing */
function sameEnd(a: PacketHeaders, b: PacketHeaders, end: 'src' | 'dst'): boolean {
  if (a.l4 !== b.l4 || a.family !== b.family) return false;
  return end === 'src' ? a.saddr === b.saddr && (!a.l4 || a.sport === b.sport) : a.daddr === b.daddr && (!a.l4 || a.dport === b.dport);
}

const NO_CHANGES: RawChange[] = [];
/** an event's changes, when it made none (never added to: a hop gets a list of its own) */
const NO_HOP_CHANGES: Change[] = [];

function rawChanges(prev: PacketHeaders, cur: PacketHeaders, prevMark: number, curMark: number): RawChange[] {
  if (
    (curMark === 0 || curMark === prevMark) &&
    sameEnd(prev, cur, 'dst') &&
    sameEnd(prev, cur, 'src')
  ) {
    return NO_CHANGES;
  }
  const out: RawChange[] = [];
  const mark = prevMark;
  if (curMark !== 0 && curMark !== prevMark) out.push({ field: 'mark', from: `0x${prevMark.toString(16)}`, to: String(curMark), mark });
  if (dstText(prev) !== dstText(cur)) out.push({ field: 'dst', from: dstText(prev), to: dstText(cur), mark: curMark || mark });
  if (srcText(prev) !== srcText(cur)) out.push({ field: 'src', from: srcText(prev), to: srcText(cur), mark: curMark || mark });
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
  let h: Hop;
  if (d) {
    h = { node: d.node, netns: d.netns, netns_inode: netns, device: d.device, ifindex, kind: d.kind } as Hop;
    if (d.network) h.network = d.network;
    h.where = d.label;
  } else {
    const ns = namer.netns(netns);
    const nsText = ns ? `${ns.node} · ${ns.display}` : `netns ${netns}`;
    h = { node: ns?.node ?? '?', netns: ns?.display ?? String(netns), netns_inode: netns } as Hop;
    if (ifindex) h.ifindex = ifindex;
    h.where = ifindex ? `${nsText} · if${ifindex}` : nsText;
  }
  h.what = what;
  h.hooks = hooks;
  h.t_ns = tNs;
  h.latency_ns = null;
  return h;
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

export function buildHops(events: PacketEvent[], dir: Direction, namer: Namer): BuiltPath {
  const hops: Hop[] = [];
  let cur: Hop | undefined;
  /** the device the current hop is at; -1 after a hop of its own (drop, NAT, load balancer) */
  let curNetns = -1;
  let curIfindex = -1;
  let prev: PacketHeaders | undefined;
  let prevMark = 0;
  let prevVni: number | undefined;
  /** the namespace of the previous event: a mark cannot survive leaving one (the veth and
   * VXLAN crossings scrub it), so within one a changed mark is a rule's doing */
  let lastNetns = 0;
  let end: PathEnd = 'open';
  let drop: BuiltPath['drop'];
  // a packet's events mostly share one decoded headers object until a rewrite: its
  // printed form is shared by the hops that show it too (they are read, never changed)
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

  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.hook === Hook.CONSUME) {
      end = cur && cur.what === 'out' && cur.kind !== 'veth' ? 'left' : 'delivered';
      break;
    }
    if (ev.hook === Hook.DROP) {
      const reason = namer.dropReason(ev.dropReason);
      // no device: the socket layer freed it, and without a reason that is TCP's way of
      // discarding what it handled (an ACK to a TIME_WAIT socket), not a loss
      if (BENIGN_DROPS.has(reason) || (reason === 'NOT_SPECIFIED' && !ev.netns)) {
        end = 'delivered';
        break;
      }
      const at = ev.netns ? newHop(namer, ev.netns, ev.ifindex, 'drop', ['drop'], ev.tsNs) : newHop(namer, cur ? cur.netns_inode : 0, 0, 'drop', ['drop'], ev.tsNs);
      at.changes = [];
      at.drop_reason = reason;
      append(hops, at);
      end = 'dropped';
      drop = { where: at.where, reason };
      break;
    }
    const view = l3View(ev);
    let changes: Change[] = NO_HOP_CHANGES;
    const sameNetns = lastNetns === ev.netns;
    lastNetns = ev.netns;
    if (view && prev) {
      if (ev.vni !== undefined && prevVni === undefined && ev.outer) {
        changes = [{ kind: 'VXLAN-encap', field: 'tunnel', vni: ev.vni, from: srcText(ev.outer), to: dstText(ev.outer) }];
      } else if (ev.vni === undefined && prevVni !== undefined) {
        changes = [{ kind: 'VXLAN-decap', field: 'tunnel', vni: prevVni }];
      }
    }

    // the load balancer: IPVS picked a real server and rewrites the destination to it
    if (ev.hook === Hook.IPVS_NAT_XMIT && ev.ipvs && view) {
      const svc = ev.ipvs;
      // what the rules did since the packet entered this namespace (mangle MARK with the
      // fwmark IPVS matches on, a REDIRECT): seen here when no netfilter link showed it
      // (kernels before 6.4)
      if (prev && sameNetns) changes = [...changes, ...named(rawChanges(prev, view, prevMark, ev.mark), ev.netns, dir, namer)];
      const rule = `ipvs ${svc.fwmark ? `FWM ${svc.fwmark}` : `${protoName(svc.virtual.proto)} ${dstText(svc.virtual)}`}`;
      changes = [...changes, { kind: 'IPVS', field: 'dst', from: dstText(view), to: dstText(svc.real), rule }];
      const lb = newHop(namer, ev.netns, ev.ifindex, 'lb', [ev.hookName], ev.tsNs);
      lb.headers = show(view, ev.mark);
      lb.changes = changes;
      cur = append(hops, lb);
      curNetns = curIfindex = -1;
      prev = { ...view, daddr: svc.real.daddr, dport: svc.real.dport };
      prevMark = ev.mark;
      continue;
    }

    // a netfilter pair around the NAT priorities whose headers differ: the NAT step
    let after: PacketEvent | undefined;
    let afterView: PacketHeaders | undefined;
    let natChanges: RawChange[] = NO_CHANGES;
    if (ev.hook === Hook.NF && view) {
      const nf = decodeNfAux(ev.aux);
      const next = events[i + 1];
      if (nf.stage === 'before' && next && next.hook === Hook.NF && next.netns === ev.netns) {
        const n2 = decodeNfAux(next.aux);
        const nv = l3View(next);
        if (n2.stage === 'after' && n2.hooknum === nf.hooknum && nv && (natChanges = rawChanges(view, nv, ev.mark, next.mark)).length) {
          after = next;
          afterView = nv;
        }
      } else if (nf.stage === 'after' && prev && (natChanges = rawChanges(prev, view, prevMark, ev.mark)).length) {
        after = ev;
        afterView = view;
      }
    }
    if (after && afterView && view) {
      changes = [...changes, ...named(natChanges, ev.netns, dir, namer)];
      const hooks = after === ev ? [hookLabel(ev)] : [hookLabel(ev), hookLabel(after)];
      const isLb = changes.some((c) => c.kind === 'IPVS');
      const nat = newHop(namer, ev.netns, ev.ifindex, isLb ? 'lb' : 'nat', hooks, ev.tsNs);
      nat.headers = show(afterView, after.mark);
      nat.changes = changes;
      cur = append(hops, nat);
      curNetns = curIfindex = -1;
      prev = afterView;
      prevMark = after.mark;
      prevVni = after.vni;
      if (after !== ev) i++;
      continue;
    }

    // a rewrite seen only between two device hops (no netfilter link there, or a pcap)
    if (view && prev) {
      // from a capture the rewrite happened somewhere between two devices, maybe in another
      // namespace: named by what changed, without claiming this namespace's rule made it
      const at = ev.hook === Hook.CAPTURED ? 0 : ev.netns;
      const raw = rawChanges(prev, view, prevMark, ev.mark);
      if (raw.length) changes = [...changes, ...named(raw.filter((c) => c.field !== 'mark' || ev.hook === Hook.NF || sameNetns), at, dir, namer)];
    }
    const d = direction(ev);
    if (cur && curNetns === ev.netns && curIfindex === ev.ifindex) {
      const label = hookLabel(ev);
      if (!cur.hooks.includes(label)) cur.hooks.push(label);
      if (cur.what !== d && d !== 'seen' && (cur.what === 'in' || cur.what === 'out')) cur.what = 'through';
      if (changes.length) cur.changes.push(...changes);
      if (view && !cur.headers) cur.headers = show(view, ev.mark);
    } else {
      const h = newHop(namer, ev.netns, ev.ifindex, d, [hookLabel(ev)], ev.tsNs);
      if (view) h.headers = show(view, ev.mark);
      if (ev.vni !== undefined && ev.outer) h.vxlan = { vni: ev.vni, src: srcText(ev.outer), dst: dstText(ev.outer) };
      // its own list: later events at this device add to it
      h.changes = changes === NO_HOP_CHANGES ? [] : changes;
      cur = append(hops, h);
      curNetns = ev.netns;
      curIfindex = ev.ifindex;
    }
    if (view) {
      prev = view;
      prevMark = ev.mark;
      prevVni = ev.vni;
    }
  }
  const out: BuiltPath = { hops, end };
  if (drop) out.drop = drop;
  return out;
}
