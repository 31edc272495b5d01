// The correlator takes the records that repeat the one before (one packet between two
// rewrites) as a run. Taking each record alone must come to the same flows and counters:
// a replay's filter does that (pushBatch with `select`), so the two roads are compared over
// random traffic made to hit every place a run must stop: frees, drops, reused skb
// addresses, late and out-of-order events, long silences, clones, tunnels, event limits.
import { describe, expect, it } from 'vitest';
import { Correlator } from '../../src/correlate/index.js';
import { EventBatch, type PacketEvent } from '../../src/events/decode.js';
import { encodeEvents } from '../../src/events/encode.js';
import { headers, placesNamer, Walk, type Place } from './helpers/packets.js';

const places: Place[] = [
  { node: 'n1', netns: 'a', inode: 100, device: 'eth0', ifindex: 2 },
  { node: 'n1', netns: 'a', inode: 100, device: 'br0', ifindex: 3, kind: 'bridge' },
  { node: 'n1', netns: 'b', inode: 200, device: 'eth0', ifindex: 2 },
  { node: 'n1', netns: 'c', inode: 300, device: 'vxlan0', ifindex: 4, kind: 'vxlan' },
];

/** a seeded generator (mulberry32): every run of the test sees the same traffic */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** one scenario's events, cut into the batches a few CPUs would hand over */
function traffic(rnd: () => number): PacketEvent[][] {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const events: PacketEvent[] = [];
  let t = 1e9;
  for (let f = 0; f < 6; f++) {
    const client = `10.0.${f}.1:${1000 + f}`;
    for (let p = 0; p < 1 + Math.floor(rnd() * 4); p++) {
      const reply = p % 2 === 1;
      // a few addresses only: skbs are reused, sometimes with their free missed
      const skb = pick(['a1', 'a2', 'a3', `f${f}p${p}`]);
      const step = rnd() < 0.1 ? 6e8 : pick([0, 500, 1000]);
      const h = reply ? headers('10.9.0.5:80', client, { tcpFlags: 0x12, tcpSeq: 5000 + p }) : headers(client, '192.168.0.1:1080', { tcpFlags: p ? 0x10 : 0x02, tcpSeq: 1000 + p });
      const w = new Walk(skb, (t += 1e6 * rnd()), h, step);
      for (let k = 0; k < 2 + Math.floor(rnd() * 5); k++) {
        const at = pick(places);
        const r = rnd();
        if (r < 0.15) w.nf(at, 'PRE', (x) => x.dnat(reply ? client : '10.9.0.5:80'));
        else if (r < 0.25) w.nf(at, 'POST');
        else if (r < 0.35) w.encap(4096, headers('192.168.50.1:50000', '192.168.50.2:4789', { proto: 17 }));
        else if (r < 0.4) w.decap();
        else if (r < 0.45) w.h = { ...w.h, ttl: w.h.ttl - 1 };
        else if (r < 0.7) w.in(at);
        else w.out(at);
      }
      const end = rnd();
      if (end < 0.6) w.consume();
      else if (end < 0.75) w.drop(pick(places), 6);
      events.push(...w.events);
      // a clone: the same datagram on another skb while the first lives
      if (rnd() < 0.15) events.push(...new Walk(`c${f}${p}`, w.t - 200, w.h).out(places[1]).consume().events);
    }
  }
  // jitter some timestamps, so that records of a packet can come out of order
  for (const e of events) if (rnd() < 0.05) e.tsNs -= Math.floor(rnd() * 3000);
  // each packet's records go to one of three CPUs, whose batches arrive in turn
  const cpus: PacketEvent[][] = [[], [], []];
  let cpu = 0;
  for (let i = 0; i < events.length; i++) {
    if (rnd() < 0.2) cpu = Math.floor(rnd() * 3);
    cpus[cpu].push(events[i]);
  }
  const batches: PacketEvent[][] = [];
  while (cpus.some((c) => c.length)) {
    const c = cpus[Math.floor(rnd() * 3)];
    if (c.length) batches.push(c.splice(0, 1 + Math.floor(rnd() * 12)));
  }
  return batches;
}

function correlate(batches: PacketEvent[][], alone: boolean, o: { maxEventsPerJourney: number; maxJourneys: number }) {
  const c = new Correlator({ namer: placesNamer(places), wallClock: (_c, ns) => ns, ...o });
  const flows = [];
  let k = 0;
  for (const list of batches) {
    const b = new EventBatch(encodeEvents(list), list.length);
    c.pushBatch(b, 'local', alone ? () => true : undefined);
    if (++k % 4 === 0) flows.push(...c.advance(Math.max(...list.map((e) => e.tsNs))));
  }
  flows.push(...c.flush());
  return { flows, counters: c.counters() };
}

describe('correlator: records that repeat the one before', () => {
  it('taken as runs or one by one, give the same flows and counters (400 random scenarios)', () => {
    const rnd = random(20261121);
    /** records the run road took with the one before (the traffic must have many) */
    let repeating = 0;
    for (let s = 0; s < 400; s++) {
      const batches = traffic(rnd);
      const o = { maxEventsPerJourney: rnd() < 0.3 ? 3 + Math.floor(rnd() * 6) : 256, maxJourneys: rnd() < 0.2 ? 4 : 65536 };
      const byRun = correlate(batches, false, o);
      const alone = correlate(batches, true, o);
      expect(byRun.counters, `scenario ${s}`).toEqual(alone.counters);
      expect(byRun.flows, `scenario ${s}`).toEqual(alone.flows);
      for (const list of batches) {
        const b = new EventBatch(encodeEvents(list), list.length);
        for (let i = 1; i < b.length; i++) if (b.repeats(i, i - 1)) repeating++;
      }
    }
    expect(repeating).toBeGreaterThan(5000);
  });
});
