// The packet bytes captured with --snaplen, kept for `export --pcapng` until the flows that
// need them are reported: a hop is exported as the real bytes of the event it started with
// (same namespace, same timestamp) when that event carried them and they are the packet
// the hop describes (its addresses match), and as synthesised headers otherwise.
// Bounded: beyond MAX_BYTES the oldest bytes are dropped (their hops fall back to headers).
import type { EventBatch } from '../events/decode.js';
import type { Hop, HopHeaders } from '../correlate/model.js';
import { splitEndpoint } from '../correlate/tuple.js';
import { parseCidr } from '../events/addr.js';

const MAX_BYTES = 64 << 20;

const key = (netns: number, tsNs: number) => `${netns}:${tsNs}`;

export class PayloadIndex {
  private readonly byEvent = new Map<string, Uint8Array[]>();
  private bytes = 0;

  get size(): number {
    return this.byEvent.size;
  }

  /** keeps a copy of every captured packet of the batch */
  add(b: EventBatch): void {
    if (!b.rawPayload().byteLength) return;
    for (let i = 0; i < b.length; i++) {
      if (!b.caplen(i) || !b.valid(i)) continue;
      const bytes = b.payload(i).slice();
      const k = key(b.netns(i), b.tsNs(i));
      const list = this.byEvent.get(k);
      if (list) list.push(bytes);
      else this.byEvent.set(k, [bytes]);
      this.bytes += bytes.byteLength;
    }
    while (this.bytes > MAX_BYTES && this.byEvent.size) {
      const [k, list] = this.byEvent.entries().next().value as [string, Uint8Array[]];
      this.byEvent.delete(k);
      for (const p of list) this.bytes -= p.byteLength;
    }
  }

  /** the captured packet this hop shows, if any */
  packet(h: Hop, headers: HopHeaders): Uint8Array | undefined {
    const list = this.byEvent.get(key(h.netns_inode, h.t_ns));
    if (!list) return undefined;
    const endpoints = [[headers.src, headers.dst]];
    if (h.vxlan) endpoints.push([h.vxlan.src, h.vxlan.dst]);
    return list.find((p) => endpoints.some(([src, dst]) => sameAddresses(p, src, dst)));
  }
}

/** do the packet's IP source and destination (and ports, when the endpoints have them) match? */
export function sameAddresses(p: Uint8Array, src: string, dst: string): boolean {
  const s = splitEndpoint(src);
  const d = splitEndpoint(dst);
  const sa = parseCidr(s.addr);
  const da = parseCidr(d.addr);
  if (!sa || !da || p.byteLength < 1) return false;
  const version = p[0] >> 4;
  let l4: number;
  let proto: number;
  if (version === 4 && !sa.v6 && p.byteLength >= 20) {
    if (!equal(p, 12, sa.bytes, 4) || !equal(p, 16, da.bytes, 4)) return false;
    l4 = (p[0] & 0x0f) * 4;
    proto = p[9];
  } else if (version === 6 && sa.v6 && p.byteLength >= 40) {
    if (!equal(p, 8, sa.bytes, 16) || !equal(p, 24, da.bytes, 16)) return false;
    l4 = 40;
    proto = p[6];
  } else return false;
  if ((proto !== 6 && proto !== 17) || s.port === undefined || d.port === undefined || p.byteLength < l4 + 4) return true;
  return ((p[l4] << 8) | p[l4 + 1]) === Number(s.port) && ((p[l4 + 2] << 8) | p[l4 + 3]) === Number(d.port);
}

function equal(p: Uint8Array, at: number, addr: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (p[at + i] !== addr[i]) return false;
  return true;
}
