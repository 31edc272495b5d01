// docs/flows.md is the NDJSON schema users script against: every field a flow record can
// carry must be written down there (and nothing documented may be missing from the model).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Correlator } from '../../src/correlate/index.js';
import { headers, placesNamer, Walk, type Place } from './helpers/packets.js';

function documented(section: string): string[] {
  const doc = readFileSync(new URL('../../docs/flows.md', import.meta.url), 'utf8');
  const part = doc.split(/^## /m).find((p) => p.startsWith(`${section}\n`));
  if (!part) throw new Error(`docs/flows.md has no "## ${section}" section`);
  return [...part.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
}

describe('docs/flows.md', () => {
  const a: Place = { node: 'n', netns: 'a', inode: 1, device: 'eth0', ifindex: 2 };
  const b: Place = { node: 'n', netns: 'b', inode: 3, device: 'eth0', ifindex: 2 };
  const u: Place = { node: 'n', netns: 'a', inode: 1, device: 'eth1', ifindex: 3 };
  const c = new Correlator({ namer: placesNamer([a, b, u]), wallClock: (_c, ns) => ns });
  const w = new Walk('1', 1e9, headers('10.0.0.1:1000', '10.0.0.2:80'));
  w.out(a).encap(42, headers('192.168.0.1:5000', '192.168.0.2:4789', { proto: 17 })).out(u).decap().in(b);
  w.mark = 5;
  w.nf(b, 'PRE', (x) => x.dnat('10.0.0.3:8080')).drop(b, 6);
  c.push(w.events);
  const [flow] = c.flush();
  const hop = flow.forward!.hops.find((h) => h.changes.length && h.vxlan) ?? flow.forward!.hops[1];

  it('documents every field of a flow, path, hop, headers, change and drop', () => {
    const check = (section: string, objs: object[]) => {
      const doc = documented(section);
      for (const o of objs) for (const k of Object.keys(o)) expect(doc, `${section}.${k}`).toContain(k);
    };
    check('flow', [flow]);
    check('path', [flow.forward!]);
    check('hop', flow.forward!.hops);
    check('headers', flow.forward!.hops.map((h) => h.headers!).filter(Boolean));
    check('change', flow.forward!.hops.flatMap((h) => h.changes));
    check('drop', flow.drops);
    expect(hop.vxlan).toBeDefined();
    expect(flow.drops.length).toBe(1);
  });
});
