// A flow record as its NDJSON line: exactly what JSON.stringify(record) prints, written
// for the one shape correlate/model.ts defines. A replay's output is a flow's line after
// another, and JSON.stringify, which knows nothing of the shape, took 40 us for a
// four-packet flow's 10 KB: half of the record thread's time, and the replay waited on
// it. Most of a line is the same from flow to flow: the hops at each device (node,
// namespace, device, where), their hook lists and the headers the hops of one packet
// share. Those are printed once and their text reused; what changes (times, addresses,
// ports) is printed each time.
//
// A field added to a record, a path, a hop or its headers must be added here too, in the
// order the builder makes it (test/flow-json.test.ts compares every record of the
// fixtures with JSON.stringify's).
import type { Change, DropSummary, FlowRecord, Hop, HopHeaders, Path } from '../correlate/model.js';

/** what a hop says of its device: the same for every hop there */
interface Place {
  node: string;
  netns: string;
  netns_inode: number;
  device: string | undefined;
  ifindex: number | undefined;
  kind: string | undefined;
  network: string | undefined;
  /** `{"node":…,"where":…` */
  text: string;
}

/** a JSON string's text: most strings here need no escaping, which a look at their
 * characters tells faster than JSON.stringify prints them */
export function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // control characters, '"', '\' and surrogates (a lone one is escaped) take JSON's way
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** a string field as JSON prints it; a field of a snapshot from elsewhere may hold
 * anything, and then gets JSON.stringify's text */
function str(x: unknown): string {
  return typeof x === 'string' ? quote(x) : other(x);
}

/** a number as JSON prints it (not finite: null) */
function num(x: unknown): string {
  if (typeof x !== 'number') return other(x);
  return Number.isFinite(x) ? `${x}` : 'null';
}

function other(x: unknown): string {
  return JSON.stringify(x) ?? 'null';
}

/** Prints flow records; keeps the text of what recurs from one to the next (bounded: a
 * table per kind of part, started over when it grows past what any topology has). */
export class FlowJson {
  /** by hop.where: the device part of hops there */
  private places = new Map<string, Place>();
  /** hook lists are shared, frozen arrays (hook-lists.ts): their text, by list */
  private hooks = new WeakMap<readonly string[], string>();
  /** hops of one packet share one headers object until a rewrite (hops.ts show) */
  private lastHeaders: HopHeaders | undefined;
  private lastHeadersText = '';

  line(f: FlowRecord): string {
    return (
      `{"type":${str(f.type)},"id":${num(f.id)},"proto":${str(f.proto)},"client":${str(f.client)},"server":${str(f.server)},` +
      `"state":${str(f.state)},"start":${str(f.start)},"first_ns":${num(f.first_ns)},"last_ns":${num(f.last_ns)},` +
      `"duration_ns":${num(f.duration_ns)},"packets":{"forward":${num(f.packets.forward)},"reply":${num(f.packets.reply)}},` +
      `"bytes":{"forward":${num(f.bytes.forward)},"reply":${num(f.bytes.reply)}},` +
      `"forward":${this.path(f.forward)},"reply":${this.path(f.reply)},"drops":${rare(f.drops)},"tuples":${strings(f.tuples)}}`
    );
  }

  private path(p: Path | null): string {
    if (!p) return 'null';
    let hops = '';
    for (let k = 0; k < p.hops.length; k++) hops += (k ? ',' : '') + this.hop(p.hops[k]);
    return `{"packet":${this.headers(p.packet)},"hops":[${hops}],"end":${str(p.end)},"total_ns":${num(p.total_ns)},"clones":${num(p.clones)}}`;
  }

  private hop(h: Hop): string {
    let s = `${this.place(h)},"what":${str(h.what)},"hooks":${this.hookText(h.hooks)},"t_ns":${num(h.t_ns)},"latency_ns":${num(h.latency_ns)}`;
    if (h.headers !== undefined) s += `,"headers":${this.headers(h.headers)}`;
    if (h.vxlan !== undefined) s += `,"vxlan":{"vni":${num(h.vxlan.vni)},"src":${str(h.vxlan.src)},"dst":${str(h.vxlan.dst)}}`;
    s += `,"changes":${rare(h.changes)}`;
    if (h.drop_reason !== undefined) s += `,"drop_reason":${str(h.drop_reason)}`;
    return s + '}';
  }

  /** `{"node":…,"where":…` of a hop, printed once per device */
  private place(h: Hop): string {
    let p = this.places.get(h.where);
    if (
      p === undefined ||
      p.node !== h.node ||
      p.netns !== h.netns ||
      p.netns_inode !== h.netns_inode ||
      p.device !== h.device ||
      p.ifindex !== h.ifindex ||
      p.kind !== h.kind ||
      p.network !== h.network
    ) {
      let text = `{"node":${str(h.node)},"netns":${str(h.netns)},"netns_inode":${num(h.netns_inode)}`;
      if (h.device !== undefined) text += `,"device":${str(h.device)}`;
      if (h.ifindex !== undefined) text += `,"ifindex":${num(h.ifindex)}`;
      if (h.kind !== undefined) text += `,"kind":${str(h.kind)}`;
      if (h.network !== undefined) text += `,"network":${str(h.network)}`;
      text += `,"where":${str(h.where)}`;
      p = { node: h.node, netns: h.netns, netns_inode: h.netns_inode, device: h.device, ifindex: h.ifindex, kind: h.kind, network: h.network, text };
      // a capture of ever new namespaces (a long live run) does not grow this for ever
      if (this.places.size >= MAX_PLACES) this.places = new Map();
      this.places.set(h.where, p);
    }
    return p.text;
  }

  private hookText(hooks: string[]): string {
    let t = this.hooks.get(hooks);
    if (t === undefined) {
      t = strings(hooks);
      // only frozen lists are shared, and so never change under their text
      if (Object.isFrozen(hooks)) this.hooks.set(hooks, t);
    }
    return t;
  }

  private headers(x: HopHeaders): string {
    if (x === this.lastHeaders) return this.lastHeadersText;
    let s = `{"proto":${str(x.proto)},"src":${str(x.src)},"dst":${str(x.dst)},"ip_id":${num(x.ip_id)},"len":${num(x.len)}`;
    if (x.flags !== undefined) s += `,"flags":${str(x.flags)}`;
    if (x.seq !== undefined) s += `,"seq":${num(x.seq)}`;
    if (x.ack !== undefined) s += `,"ack":${num(x.ack)}`;
    if (x.mark !== undefined) s += `,"mark":${num(x.mark)}`;
    s += '}';
    this.lastHeaders = x;
    this.lastHeadersText = s;
    return s;
  }
}

/** devices remembered before the table starts over: more than any host has */
const MAX_PLACES = 4096;

/** a hop's changes and a flow's drops: mostly none, else few and of several shapes
 * (rewrite.ts), left to JSON.stringify */
function rare(list: readonly (Change | DropSummary)[]): string {
  return list.length ? JSON.stringify(list) : '[]';
}

function strings(list: readonly string[]): string {
  let s = '[';
  for (let k = 0; k < list.length; k++) s += (k ? ',' : '') + str(list[k]);
  return s + ']';
}
