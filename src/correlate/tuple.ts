// The printed keys of decoded packets: a connection tuple, one IP datagram, a tunnel
// crossing (what the other node's decapsulation shares). The correlator's hot path keys
// records without printing them (EventBatch.tupleKey, events/tuple-key.ts).
import type { EventBatch, PacketHeaders } from '../events/decode.js';
import { endpointText } from '../events/addr.js';

/** `10.0.0.1:80` → 10.0.0.1 and 80; `[fd00::1]:80` → fd00::1 and 80; a bare address has no port */
export function splitEndpoint(ep: string): { addr: string; port?: string } {
  if (ep.startsWith('[')) {
    const end = ep.indexOf(']');
    return { addr: ep.slice(1, end), ...(ep[end + 1] === ':' ? { port: ep.slice(end + 2) } : {}) };
  }
  const i = ep.indexOf(':');
  return i < 0 || ep.indexOf(':', i + 1) >= 0 ? { addr: ep } : { addr: ep.slice(0, i), port: ep.slice(i + 1) };
}

export function srcText(h: PacketHeaders): string {
  return endpointText(h.saddr, h.family, h.sport, h.l4);
}
export function dstText(h: PacketHeaders): string {
  return endpointText(h.daddr, h.family, h.dport, h.l4);
}

/** `6|10.0.0.1:5000>10.0.0.2:80`: one direction of a connection */
export function directedKey(h: PacketHeaders): string {
  return `${h.proto}|${srcText(h)}>${dstText(h)}`;
}

/** one datagram: the same bytes seen on a clone, or before and after a tunnel */
export function datagramKey(h: PacketHeaders): string {
  return `${directedKey(h)}|${h.ipId}|${h.ipLen}|${h.proto === 6 ? `${h.tcpSeq}|${h.tcpAck}|${h.tcpFlags}` : ''}`;
}

/** RecordJourney.tunnelDatagram: no encapsulated record yet, or ones of several datagrams */
export const NO_TUNNEL = -1;
export const MANY_TUNNELS = -2;

/** What a journey knows of the datagrams it carried encapsulated, after record i of b
 * (encapsulated) joins what it knew (`seen`): the one datagram's hash (of any clock: two
 * nodes' journeys compare theirs), or MANY_TUNNELS. A journey carries one datagram through
 * a tunnel, so this mostly spares searching its records for another's crossing
 * (flow-record.ts): records with the same vxlanKey carry the same datagram, which hashes
 * alike. */
export function noteTunnelDatagram(seen: number, b: EventBatch, i: number): number {
  const h = b.datagramHash(i, 0);
  if (h < 0) return MANY_TUNNELS;
  return seen === NO_TUNNEL || seen === h ? h : MANY_TUNNELS;
}

/** a tunnel crossing (record i of b, when encapsulated): VNI, outer UDP tuple and the inner datagram */
export function vxlanKey(b: EventBatch, i: number): string | undefined {
  const vni = b.vni(i);
  const outer = vni < 0 ? undefined : b.outer(i);
  const inner = outer && b.view(i);
  if (!outer || !inner) return undefined;
  return `${vni}|${directedKey(outer)}|${datagramKey(inner)}`;
}
