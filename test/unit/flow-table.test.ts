// The flow table: journeys join the flow of any tuple they carry, either way round; flows
// that turn out to share a tuple merge; a removed flow's tuples are free again. Run with
// the real key hash and with one under which every key collides (the table then falls
// back to the keys themselves), and the two must agree.
import { describe, expect, it } from 'vitest';
import { FlowTable, type Flow } from '../../src/correlate/flow.js';
import type { Journey } from '../../src/correlate/journey.js';
import { keyHash, reverseKey } from '../../src/events/tuple-key.js';

/** a tuple key as EventBatch.tupleKey writes one: kind, proto, 4 address words, ports */
function key(src: number, dst: number, sport: number, dport: number): string {
  return String.fromCharCode(1, 6, 10, src, 10, dst, sport, dport);
}

function journey(ts: number): Journey {
  return { firstTs: ts, lastTs: ts } as Journey;
}

function scenario(hash: (k: string) => number): string[] {
  const flows: Flow[] = [];
  const t = new FlowTable(100, (f) => flows.push(f), hash);
  const out: string[] = [];
  const a1 = journey(1);
  t.link(a1, key(1, 2, 5000, 80));
  // the reply carries the tuple reversed
  const a2 = journey(2);
  t.link(a2, reverseKey(key(1, 2, 5000, 80)));
  // another connection
  const b1 = journey(3);
  t.link(b1, key(1, 3, 5001, 80));
  // a journey seen with c's tuple, then (after a rewrite) with a's: c's flow merges into a's
  const c1 = journey(4);
  t.link(c1, key(7, 8, 6000, 443));
  t.link(c1, key(1, 2, 5000, 80));
  out.push(`a ${a1.flow === a2.flow} ${a1.flow === c1.flow} ${a1.flow !== b1.flow} live ${t.live.size}`);
  // c's first tuple now leads to a's flow, both ways
  const c2 = journey(5);
  t.link(c2, reverseKey(key(7, 8, 6000, 443)));
  out.push(`c2 ${c2.flow === a1.flow}`);
  t.remove(a1.flow!);
  // a's tuples are free: a journey with one starts a flow of its own
  const d1 = journey(6);
  t.link(d1, key(7, 8, 6000, 443));
  out.push(`d ${d1.flow !== a1.flow} ${d1.flow !== b1.flow} live ${t.live.size}`);
  const b2 = journey(7);
  t.link(b2, reverseKey(key(1, 3, 5001, 80)));
  out.push(`b ${b2.flow === b1.flow}`);
  return out;
}

describe('flow table', () => {
  it('joins both directions, merges flows that share a tuple, frees a removed flow\'s tuples', () => {
    expect(scenario(keyHash)).toEqual(['a true true true live 2', 'c2 true', 'd true true live 2', 'b true']);
  });

  it('gives the same flows when every key hashes alike', () => {
    expect(scenario(() => 42)).toEqual(scenario(keyHash));
  });

  it('hashes a key and its reverse alike (one connection), other connections apart', () => {
    const v6 = String.fromCharCode(1 | 2, 6, ...[1, 2, 3, 4, 5, 6, 7, 8], ...[1, 2, 3, 4, 5, 6, 7, 9], 5000, 80);
    const keys = [key(1, 2, 5000, 80), key(1, 2, 5001, 80), key(1, 3, 5000, 80), key(1, 2, 80, 5000), key(3, 3, 80, 80), v6];
    expect(keyHash(keys[0])).toBe(keyHash(String.fromCharCode(...[...keys[0]].map((c) => c.charCodeAt(0)))));
    // the same connection both ways round (the ends swapped, each with its own port)
    for (const k of keys) expect(keyHash(reverseKey(k))).toBe(keyHash(k));
    expect(keyHash(key(2, 1, 80, 5000))).toBe(keyHash(keys[0]));
    // the ports go with their addresses: swapping the ports alone is another connection
    expect(new Set(keys.map(keyHash)).size).toBe(keys.length);
    // the protocol is part of it
    expect(keyHash(String.fromCharCode(1, 17, 10, 1, 10, 2, 5000, 80))).not.toBe(keyHash(keys[0]));
    for (const k of keys) expect(Number.isSafeInteger(keyHash(k)) && keyHash(k) >= 0).toBe(true);
  });
});
