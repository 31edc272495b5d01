// The replay filter's followed skbs and connections are bounded as the kernel's LRU maps
// are: a replay of a capture with millions of connections keeps the last ones it followed,
// renews those in use, and counts what it forgot.
import { describe, expect, it } from 'vitest';
import { EventBatch, type PacketEvent } from '../../src/events/decode.js';
import { encodeEvents } from '../../src/events/encode.js';
import { ReplayFilter } from '../../src/events/replay-filter.js';
import { BoundedSet } from '../../src/events/bounded-set.js';
import { headers, Walk, type Place } from './helpers/packets.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import { flowSummary } from '../../src/cli/flow-output.js';

const host: Place = { node: 'n', netns: 'host', inode: 20, device: 'eth0', ifindex: 2 };
const task: Place = { node: 'n', netns: 'task', inode: 50, device: 'eth0', ifindex: 3 };

/** a request to :1080 that a DNAT sends on to :80 (the filter follows the skb through it) */
function request(skb: string, t: number, client: string): PacketEvent[] {
  const w = new Walk(skb, t, headers(client, '10.0.0.1:1080'));
  w.in(host);
  w.nf(host, 'PRE', (x) => x.dnat('10.0.0.5:80'));
  w.out(task);
  return w.consume().events;
}

/** the reply from :80, which only the remembered tuple (the DNAT's) lets through */
function reply(skb: string, t: number, client: string): PacketEvent[] {
  const w = new Walk(skb, t, headers('10.0.0.5:80', client, { tcpFlags: 0x12 }));
  w.out(task);
  return w.consume().events;
}

/** how many of the events the filter keeps */
function kept(f: ReplayFilter, events: PacketEvent[]): number {
  const b = new EventBatch(encodeEvents(events), events.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) if (f.wants(b, i, 'local')) n++;
  return n;
}

describe('the replay filter', () => {
  it('lets a reply through by the connection it followed, and forgets the oldest connections past its capacity, counting them', () => {
    const roomy = new ReplayFilter({ port: 1080 });
    const tight = new ReplayFilter({ port: 1080 }, 8);
    for (const f of [roomy, tight]) {
      kept(f, request('a1', 1e6, '10.0.0.9:40000'));
      // twenty other connections after it
      for (let c = 0; c < 20; c++) kept(f, request(`b${c}`, 2e6 + c * 1e5, `10.0.1.${c}:40000`));
    }
    const back = reply('a2', 9e6, '10.0.0.9:40000');
    expect(kept(roomy, back)).toBe(back.length);
    expect(roomy.forgotten).toBe(0);
    expect(kept(tight, back)).toBe(0);
    expect(tight.forgotten).toBeGreaterThan(0);
  });

  it('has what it forgot counted in the closing summary, and nothing said when it forgot nothing', () => {
    const summary = (f: ReplayFilter): string => {
      const p = new FlowPipeline({ wallClock: (_c, ns) => ns, dropReason: String, events: f, onFlows: () => {} });
      for (let c = 0; c < 20; c++) p.batch(new EventBatch(encodeEvents(request(`b${c}`, 2e6 + c * 1e5, `10.0.1.${c}:40000`))));
      p.finish();
      return flowSummary(0, p.counters(), undefined);
    };
    const tight = new ReplayFilter({ port: 1080 }, 8);
    expect(summary(tight)).toContain(`; lost: filter entries evicted ${tight.forgotten}, flows evicted 0,`);
    expect(summary(new ReplayFilter({ port: 1080 }))).not.toContain('filter entries');
  });

  it('keeps a connection in use: one seen again is the last to be forgotten', () => {
    const f = new ReplayFilter({ port: 1080 }, 8);
    kept(f, request('a1', 1e6, '10.0.0.9:40000'));
    for (let c = 0; c < 20; c++) {
      kept(f, request(`b${c}`, 2e6 + c * 1e5, `10.0.1.${c}:40000`));
      // the first connection's client goes on sending
      kept(f, request(`a${c + 3}`, 2e6 + c * 1e5 + 5e4, '10.0.0.9:40000'));
    }
    const back = reply('a2', 9e6, '10.0.0.9:40000');
    expect(kept(f, back)).toBe(back.length);
  });
});

describe('a bounded set', () => {
  it('forgets the least recently added or renewed member', () => {
    const s = new BoundedSet<number>(3);
    for (const k of [1, 2, 3]) s.add(k);
    s.add(1);
    s.add(4);
    expect([1, 2, 3, 4].map((k) => s.has(k))).toEqual([true, false, true, true]);
    expect(s.forgotten).toBe(1);
    expect(s.size).toBe(3);
    s.delete(3);
    s.add(5);
    expect(s.forgotten).toBe(1);
  });
});
