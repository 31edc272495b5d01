// Reading the short tuple keys EventBatch.tupleKey() writes: the reverse direction and the
// text a flow record shows (`tcp 10.0.0.1:5000 > 10.0.0.2:80`).
// Keys are flat strings of 16-bit codes, so the correlator hashes and compares them
// without printing an address per packet; printing happens once, for a flow record.
import { endpointText, formatAddr, formatV4 } from './addr.js';
import { VIEW_L4, VIEW_V6 } from './decode.js';
import { protoName } from './proto.js';
import { hash53, mixA, mixB } from './hash.js';

function words(k: string): number {
  return k.charCodeAt(0) & VIEW_V6 ? 8 : 2;
}

/** the same connection the other way */
export function reverseKey(k: string): string {
  const c = (at: number): number => k.charCodeAt(at);
  // IPv4, the common case, without building an array of codes
  if (words(k) === 2) return String.fromCharCode(c(0), c(1), c(4), c(5), c(2), c(3), c(7), c(6));
  const codes: number[] = [c(0), c(1)];
  for (let i = 0; i < 8; i++) codes.push(c(10 + i));
  for (let i = 0; i < 8; i++) codes.push(c(2 + i));
  codes.push(c(19), c(18));
  return String.fromCharCode(...codes);
}

/** A key's connection as a 53-bit number, for tables keyed by numbers: the same for the
 * key and its reverse (reverseKey), so that a table finds a connection both ways round
 * under one entry; a match is confirmed against the key itself. Each end (address and
 * port) goes through hash.ts's lanes alone, and the two ends are then mixed in the order
 * of their hashes, not of the key. */
export function keyHash(k: string): number {
  const n = words(k);
  // lane A and lane B of each end: its address's codes, then its port
  let sa = 0x2545f491;
  let sb = 0x9e3779b9;
  let da = 0x2545f491;
  let db = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    const s = k.charCodeAt(2 + i);
    const d = k.charCodeAt(2 + n + i);
    sa = mixA(sa, s);
    sb = mixB(sb, s);
    da = mixA(da, d);
    db = mixB(db, d);
  }
  const sport = k.charCodeAt(2 + 2 * n);
  const dport = k.charCodeAt(3 + 2 * n);
  sa = mixA(sa, sport);
  sb = mixB(sb, sport);
  da = mixA(da, dport);
  db = mixB(db, dport);
  const head = (k.charCodeAt(0) << 16) | k.charCodeAt(1);
  let a = mixA(0x2545f491, head);
  let c = mixB(0x9e3779b9, head);
  if (sa < da || (sa === da && sb <= db)) {
    a = mixA(mixA(a, sa), da);
    c = mixB(mixB(c, sb), db);
  } else {
    a = mixA(mixA(a, da), sa);
    c = mixB(mixB(c, db), sb);
  }
  return hash53(a, c);
}

function addrText(k: string, at: number, n: number): string {
  if (n === 2) return formatV4(((k.charCodeAt(at) << 16) | k.charCodeAt(at + 1)) >>> 0);
  const b = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(at + i);
    b[2 * i] = c >> 8;
    b[2 * i + 1] = c & 0xff;
  }
  return formatAddr(b, 0, n === 8 ? 6 : 4);
}

/** `tcp 10.0.0.1:5000 > 10.0.0.2:80` */
export function tupleText(k: string): string {
  const n = words(k);
  const family = n === 8 ? 6 : 4;
  const l4 = !!(k.charCodeAt(0) & VIEW_L4);
  const src = endpointText(addrText(k, 2, n), family, k.charCodeAt(2 + 2 * n), l4);
  const dst = endpointText(addrText(k, 2 + n, n), family, k.charCodeAt(3 + 2 * n), l4);
  return `${protoName(k.charCodeAt(1))} ${src} > ${dst}`;
}
