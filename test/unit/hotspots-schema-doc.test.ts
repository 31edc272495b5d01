// docs/hotspots.md is the NDJSON schema of `mesh-trace hotspots --json`: every field a
// record can carry must be written down there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregateFlows } from '../../src/hotspots/rank.js';
import { hotspotRecords } from '../../src/hotspots/report-json.js';
import { flow, FORWARD, path, request } from './helpers/flows.js';

function documented(section: string): string[] {
  const doc = readFileSync(new URL('../../docs/hotspots.md', import.meta.url), 'utf8');
  const part = doc.split(/^## /m).find((p) => p.startsWith(`${section}\n`));
  if (!part) throw new Error(`docs/hotspots.md has no "## ${section}" section`);
  return [...part.matchAll(/^\| `([a-z_0-9]+)` \|/gm)].map((m) => m[1]);
}

describe('docs/hotspots.md', () => {
  it('documents every field of every record type', async () => {
    const dropAt = [...FORWARD.slice(0, 5), { node: 'node1', netns: 'ingress-sbox', what: 'drop' as const, drop_reason: 'NETFILTER_DROP' }];
    const dropped = flow(9, path(dropAt, 0, []), null, [{ direction: 'forward', where: 'node1 · ingress-sbox', reason: 'NETFILTER_DROP', count: 1 }]);
    const recs = hotspotRecords(await aggregateFlows([request(1, 10_000, 5, 1e6), request(2), dropped])) as Record<string, unknown>[];
    const types = new Set(recs.map((r) => r.type as string));
    expect([...types].sort()).toEqual(['drop', 'edge', 'hotspots', 'slow_flow']);
    for (const r of recs) {
      const doc = documented(r.type as string);
      for (const k of Object.keys(r)) expect(doc, `${r.type}.${k}`).toContain(k);
      for (const k of doc) expect(Object.keys(r), `${r.type}.${k} is documented but never written`).toContain(k);
      if (r.type === 'edge') for (const b of r.histogram as object[]) for (const k of Object.keys(b)) expect(documented('bin')).toContain(k);
    }
  });
});
