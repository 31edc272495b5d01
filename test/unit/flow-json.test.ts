// The NDJSON line of a flow record is exactly JSON.stringify's: for every record replayed
// from the real recording and captures in test/fixtures (the correlator's own records,
// with NATs, the load balancer, VXLAN and both nodes), and for a record holding every
// optional field and strings JSON must escape. And the buffer lines are written from.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowJson, quote } from '../../src/report/flow-json.js';
import { LineBuffer } from '../../src/cli/line-buffer.js';
import { replayedFlows } from '../../src/sources/replay-flows.js';
import type { FlowRecord, Hop, HopHeaders } from '../../src/correlate/model.js';
import type { InputKind } from '../../src/capture/sniff.js';

const FIXTURES = join(__dirname, '..', 'fixtures');

async function replayed(file: string, kind: InputKind): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  for await (const f of replayedFlows(join(FIXTURES, file), kind, { spec: {}, flows: {}, flowTimeoutNs: 5e9 })) out.push(f);
  return out;
}

/** a hop as hops.ts builds it: every field, in its order */
function hop(o: Partial<Hop>): Hop {
  return {
    node: 'node1',
    netns: 'ingress-sbox',
    netns_inode: 4026532522,
    device: 'eth1',
    ifindex: 12,
    kind: 'veth',
    network: 'docker_gwbridge',
    where: 'node1 · ingress-sbox · eth1 (docker_gwbridge)',
    what: 'in',
    hooks: Object.freeze(['tc-ingress', 'recv']) as unknown as string[],
    t_ns: 1000,
    latency_ns: null,
    headers: undefined,
    vxlan: undefined,
    changes: [],
    drop_reason: undefined,
    ...o,
  };
}

const HEADERS: HopHeaders = { proto: 'TCP', src: '10.0.0.2:40000', dst: '10.0.0.5:80', ip_id: 7, len: 60, flags: 'S', seq: 4294967295, ack: 0, mark: 0x100 };

/** every optional field there is, strings JSON escapes, numbers it cannot print */
function oddRecord(): FlowRecord {
  const shared = { ...HEADERS };
  const hops: Hop[] = [
    hop({ headers: shared, latency_ns: null }),
    // the same headers object again (hops of one packet share it), other device fields
    hop({ headers: shared, device: undefined, ifindex: undefined, kind: undefined, network: undefined, where: 'node1 · ingress-sbox', what: 'nat', changes: [{ kind: 'DNAT', field: 'dst', from: '10.0.0.1:80', to: '10.0.0.5:80', rule: '-A PREROUTING -j DNAT --to-destination 10.0.0.5:80' }] }),
    // a place already printed, with one field changed under the same `where`
    hop({ headers: { ...HEADERS, flags: undefined, seq: undefined, ack: undefined, mark: undefined, proto: 'UDP' }, netns_inode: 1, latency_ns: 5 }),
    hop({ vxlan: { vni: 4096, src: '192.168.50.1:50000', dst: '192.168.50.2:4789' }, changes: [{ kind: 'VXLAN-encap', field: 'tunnel', vni: 4096, from: 'a', to: 'b' }], hooks: ['not', 'frozen'] }),
    hop({ what: 'drop', hooks: ['drop'], drop_reason: 'NETFILTER_DROP', t_ns: Infinity, latency_ns: NaN }),
    hop({ node: 'we"ird\\node', netns: 'tab\there', device: 'nl\nx', where: 'ctl\u0001 · lone \ud800 · pair \ud83d\ude00 · ünï', network: 'caf\u00e9', netns_inode: -0 }),
    hop({ node: null as unknown as string, kind: null as unknown as Hop['kind'] }),
  ];
  return {
    type: 'flow',
    id: 42,
    proto: 'TCP',
    client: '10.0.0.2:40000',
    server: '10.0.0.1:80',
    state: 'dropped',
    start: '2026-11-21T10:00:00.000Z',
    first_ns: 1000,
    last_ns: 2 ** 53,
    duration_ns: 1.5,
    packets: { forward: 3, reply: 0 },
    bytes: { forward: 180, reply: 0 },
    forward: { packet: { ...HEADERS }, hops, end: 'dropped', total_ns: null, clones: 2 },
    reply: null,
    drops: [{ direction: 'forward', where: 'node1 · ingress-sbox · eth1', reason: 'NETFILTER_DROP', count: 3 }],
    tuples: ['TCP 10.0.0.2:40000 > 10.0.0.1:80', 'odd "tuple"'],
  };
}

describe('flow records as NDJSON lines', () => {
  it.each([
    ['lab-request.mtrace', 'capture'],
    ['lab-underlay.pcap', 'pcap'],
    ['lab-eth0-eth1.pcapng', 'pcapng'],
  ] as const)('prints every flow replayed from %s as JSON.stringify does', async (file, kind) => {
    const flows = await replayed(file, kind as InputKind);
    expect(flows.length).toBeGreaterThan(0);
    const json = new FlowJson();
    // twice: the second time from what the first left cached
    for (const pass of [1, 2]) for (const f of flows) expect(json.line(f), `pass ${pass}`).toBe(JSON.stringify(f));
  });

  it('prints every optional field, escaped strings and non-finite numbers as JSON.stringify does', () => {
    const json = new FlowJson();
    const f = oddRecord();
    expect(json.line(f)).toBe(JSON.stringify(f));
    expect(json.line(f)).toBe(JSON.stringify(f));
    // a place reprinted when a field under its `where` changed back
    const g = oddRecord();
    g.forward!.hops.reverse();
    expect(json.line(g)).toBe(JSON.stringify(g));
    for (const s of ['', 'plain', 'q"', 'b\\', '\u001f', '\u007f', '\u2028', '\udfff', '\ud83d\ude00']) expect(quote(s)).toBe(JSON.stringify(s));
  });
});

describe('line buffer', () => {
  it('holds lines as UTF-8 bytes, each with its newline, and grows for a line longer than it', () => {
    const b = new LineBuffer(16);
    b.add('ab');
    b.add('· é 😀');
    expect(b.fits('x'.repeat(40))).toBe(false);
    b.add('x'.repeat(40));
    expect(b.bytes().toString('utf8')).toBe(`ab\n· é 😀\n${'x'.repeat(40)}\n`);
    expect(b.length).toBe(b.bytes().length);
    b.clear();
    expect(b.length).toBe(0);
    b.add('again');
    expect(b.bytes().toString('utf8')).toBe('again\n');
  });
});
