// `mesh-trace hotspots --from FILE` as a user runs it (the built CLI in a child process) on
// a file of flow records: the ranking it prints is the one the aggregation computes, and
// the text, NDJSON and HTML outputs all say which edge is the hot one. No kernel needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregateFlows } from '../../src/hotspots/rank.js';
import { CLI } from '../helpers/cli.js';
import { request } from '../unit/helpers/flows.js';

const SBOX_LB = 'node1 · ingress-sbox · eth1 → node1 · ingress-sbox · MARK+DNAT';

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, env: { ...process.env, NO_COLOR: '1' } });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

describe('mesh-trace hotspots --from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-hotspots-'));
  const file = join(dir, 'flows.ndjson');
  const flows = Array.from({ length: 120 }, (_, i) => request(i, 10_000, 5, i === 17 ? 8_000_000 : 1_000_000));
  // a file as `mesh-trace --json` writes it, with a stray line of another record type
  writeFileSync(file, [...flows.map((f) => JSON.stringify(f)), JSON.stringify({ type: 'summary' })].join('\n') + '\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--json ranks the edges exactly as the aggregation does', async () => {
    const r = cli(['hotspots', '--from', file, '--json']);
    expect(r.code, r.err).toBe(0);
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const expected = await aggregateFlows(flows);
    expect(recs[0]).toMatchObject({ type: 'hotspots', flows: 120 });
    const edges = recs.filter((x) => x.type === 'edge');
    expect(edges.map((e) => [e.rank, e.key, e.p50_ns, e.p99_ns, e.count])).toEqual(expected.edges.map((e) => [e.rank, e.key, e.latency.p50_ns, e.latency.p99_ns, e.latency.count]));
    expect(edges[0].key).toBe(SBOX_LB);
    const slow = recs.filter((x) => x.type === 'slow_flow');
    expect(slow[0]).toMatchObject({ rank: 1, flow: { id: 17 }, slowest_edge: { key: SBOX_LB } });
    expect(r.err).toMatch(/^120 flows from .*flows\.ndjson; 1 line that are not flow records skipped$/m);
  });

  it('the table names the hot edge first, with its quantiles, then the slowest flow as a path', () => {
    const r = cli(['hotspots', '--from', file, '--top', '5', '--slowest', '1']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Hot spots over 120 flows: 15 edges, ranked by the time each added (first packet each way)');
    expect(lines[1]).toMatch(/^#\s+share\s+added\/flow\s+count\s+p50\s+p90\s+p99\s+max\s+edge$/);
    expect(lines[2]).toMatch(new RegExp(`^1\\s+\\d+\\.\\d%\\s+█+·*\\s+1\\.07ms\\s+120\\s+1\\.01ms\\s+1\\.01ms\\s+1\\.01ms\\s+8\\.01ms\\s+${SBOX_LB.replace("+", "\\+")}$`));
    expect(r.out).toContain('… 10 more edges');
    expect(r.out).toMatch(/Slowest flows \(of 120\)[^\n]*\n8\.\d+ms on the paths {2}slowest edge node1 · ingress-sbox · eth1 → node1 · ingress-sbox · MARK\+DNAT \+8\.01ms\n.*TCP 192\.168\.60\.100:40017 → 192\.168\.60\.1:1080/);
    expect(r.out).toMatch(/Drops\n {2}none/);
  });

  it('filters records by port and namespace, and reads stdin', () => {
    expect(cli(['hotspots', '--from', file, '--json', '--port', '1080']).out).toMatch(/"flows":120/);
    const none = cli(['hotspots', '--from', file, '--json', '--port', '22']);
    expect(none.out).toMatch(/"flows":0/);
    expect(none.err).toMatch(/^0 flows from .* \(120 more filtered out\)/m);
    expect(cli(['hotspots', '--from', file, '--json', '--netns', 'node2/nginx.1']).out).toMatch(/"flows":120/);
    expect(cli(['hotspots', '--from', '-', '--json', '-c', '3'], readFileSync(file, 'utf8')).out).toMatch(/"flows":3/);
  });

  it('says clearly what is wrong with a bad file or a live-only option', () => {
    const missing = cli(['hotspots', '--from', join(dir, 'nope.ndjson')]);
    expect(missing.code).toBe(66);
    expect(missing.err).toMatch(/^mesh-trace: Cannot read .*nope\.ndjson: no such file\.$/m);
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${JSON.stringify(flows[0])}\nnot json\n`);
    const r = cli(['hotspots', '--from', bad]);
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/^mesh-trace: Line 2 of .*bad\.ndjson is not JSON\.$/m);
    const live = cli(['hotspots', '--from', file, '--container', 'nginx.1']);
    expect(live.code).toBe(64);
    expect(live.err).toMatch(/^mesh-trace: --container cannot be used with --from\.$/m);
  });
});
