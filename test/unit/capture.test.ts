// The capture file: events survive the trip through the kernel's record layout and the
// file byte for byte; a replay makes the same pipeline calls as the recording run and
// gets the same flows; --port on replay keeps what the kernel filter would have kept;
// damaged files give one error naming the offset. Real files in a temporary directory.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBatch, type PacketEvent } from '../../src/events/decode.js';
import { encodeEvents, encodeEventsWithPayload } from '../../src/events/encode.js';
import { Hook } from '../../src/events/hooks.js';
import { ReplayFilter } from '../../src/events/replay-filter.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { CaptureReader } from '../../src/capture/reader.js';
import { replayCapture } from '../../src/capture/replay.js';
import { FORMAT_VERSION, MAGIC } from '../../src/capture/format.js';
import { EVENT_VERSION, RECORD_SIZE } from '../../src/events/layout.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import type { FlowRecord } from '../../src/correlate/index.js';
import type { HeaderMsg } from '../../src/capture/schema.js';
import type { TopologySnapshot } from '../../src/topology/model.js';
import { MeshTraceError } from '../../src/errors.js';
import { headers, placesNamer, Walk, type Place } from './helpers/packets.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const a: Place = { node: 'n1', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };
const b: Place = { node: 'n1', netns: 'host', inode: 200, device: 'eth1', ifindex: 3 };
const c: Place = { node: 'n1', netns: 'web', inode: 300, device: 'eth0', ifindex: 4 };
const namer = placesNamer([a, b, c]);

function header(over: Partial<HeaderMsg> = {}): HeaderMsg {
  return {
    formatVersion: FORMAT_VERSION,
    eventVersion: EVENT_VERSION,
    recordSize: RECORD_SIZE,
    host: 'testhost',
    kernel: '6.1.0-test',
    toolVersion: '0.0.0-test',
    clock: { clock: 'local', monotonicNs: 1e9, wallNs: 1.7e18 },
    filter: {},
    snaplen: 0,
    argv: ['record'],
    dropReasons: { 6: 'NETFILTER_DROP' },
    ...over,
  };
}

const snapshot: TopologySnapshot = { version: 1, takenAt: '2026-11-21T00:00:00Z', host: 'testhost', nodes: ['n1'], netns: [], docker: [], ipvs: false, warnings: [] };

/** a connection to port `port` (DNAT to :80 in the host) and its reply */
function connection(skb: number, t: number, sport: number, port = 1080): PacketEvent[][] {
  const syn = new Walk(skb.toString(16), t, headers(`10.0.0.1:${sport}`, `10.0.0.2:${port}`));
  syn.out(a).in(b).nf(b, 'PRE', (w) => w.dnat('10.0.0.3:80')).out(b).in(c).consume();
  const ack = new Walk((skb + 1).toString(16), syn.t + 1000, headers('10.0.0.3:80', `10.0.0.1:${sport}`, { tcpFlags: 0x12, tcpSeq: 9 }));
  ack.out(c).in(b).nf(b, 'PRE', (w) => w.snat(`10.0.0.2:${port}`)).out(b).in(a).consume();
  const drop = new Walk((skb + 2).toString(16), ack.t + 1000, headers(`10.0.0.1:${sport}`, `10.0.0.2:${port}`, { tcpFlags: 0x10, tcpSeq: 1001, ipId: 2 }));
  drop.out(a).in(b).drop(b, 6);
  return [syn.events, ack.events, drop.events];
}

function writeCapture(path: string, batches: PacketEvent[][], ticks: number[]): void {
  const w = CaptureWriter.create(path, header());
  w.topology(snapshot, 1e9);
  batches.forEach((evs, i) => {
    w.batch('local', encodeEvents(evs), evs.length);
    if (ticks[i] !== undefined) w.tick('local', ticks[i]);
  });
  w.counters({ monotonicNs: 9e9, emitted: 5, ringFull: 1, filtered: 0, read: 5, batches: 3, queueFull: 2, delivered: 5, unknownRecords: 0, devicesAttached: 3, namespacesAttached: 3, attachFailures: 0, devicesVanished: 0 });
  w.end(9e9, 'duration');
  w.close();
}

function pipeline(out: FlowRecord[], filter?: ReplayFilter): FlowPipeline {
  return new FlowPipeline({ namer, wallClock: (_c, ns) => ns, dropReason: (n) => `r${n}`, events: filter, onFlows: (f) => out.push(...f) });
}

function replayFile(path: string, filter?: ReplayFilter): { flows: FlowRecord[]; damage?: unknown; events: number } {
  const flows: FlowRecord[] = [];
  const r = new CaptureReader(path);
  try {
    const res = replayCapture(r, pipeline(flows, filter));
    return { flows, damage: res.damage, events: res.events };
  } finally {
    r.close();
  }
}

function thrown(f: () => unknown): MeshTraceError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MeshTraceError);
    return e as MeshTraceError;
  }
  throw new Error('did not throw');
}

describe('event records', () => {
  it('an event encoded into the kernel layout decodes to itself (IPv4, IPv6, VXLAN, drops, frees without headers)', () => {
    const w = new Walk('ffff88810a0b0c0d', 5_000_000_000, headers('10.0.0.1:5000', '10.0.0.2:80'));
    w.out(a).nf(b, 'PRE', (x) => x.dnat('10.0.0.3:8080')).encap(4096, headers('192.168.0.1:4789', '192.168.0.2:4789', { proto: 17, tcpFlags: 0, tcpSeq: 0 })).out(b).decap().drop(b, 6).consume();
    const v6 = new Walk('ffff888100000001', 7, headers('::1', '::2', { family: 6, saddr: 'fd00::1', daddr: 'fd00::2', sport: 1, dport: 2 }));
    v6.in(a);
    const evs = [...w.events, ...v6.events];
    const back = new EventBatch(encodeEvents(evs)).events();
    expect(JSON.parse(JSON.stringify([...back]))).toEqual(JSON.parse(JSON.stringify(evs)));
  });
});

describe('capture files', () => {
  it('carry --snaplen bytes: the payload comes back record by record, and the header says the snaplen', () => {
    const p = join(dir, 'snaplen.mtrace');
    const evs = connection(0x300, 3e9, 40002).flat();
    // every other event carries bytes (of different lengths), the rest none
    const withBytes = evs.map((e, i) => (i % 2 ? e : { ...e, payload: Uint8Array.from({ length: 20 + i }, (_v, k) => (i * 7 + k) & 0xff) }));
    const { records, payload } = encodeEventsWithPayload(withBytes);
    const w = CaptureWriter.create(p, header({ snaplen: 64 }));
    w.batch('local', records, withBytes.length, payload);
    w.batch('local', encodeEvents(evs), evs.length); // a batch without bytes
    w.close();
    const r = new CaptureReader(p);
    try {
      expect(r.header.snaplen).toBe(64);
      const batches = [...r.items()].filter((it) => it.kind === 'batch').map((it) => (it as { batch: { records: Uint8Array; count: number; payload?: Uint8Array } }).batch);
      const b = new EventBatch(batches[0].records, batches[0].count, batches[0].payload);
      withBytes.forEach((e, i) => {
        expect(b.caplen(i)).toBe(e.payload?.byteLength ?? 0);
        expect([...b.payload(i)]).toEqual([...(e.payload ?? [])]);
      });
      expect(batches[1].payload?.byteLength ?? 0).toBe(0);
    } finally {
      r.close();
    }
  });

  it('refuse a batch whose payload is not the sum of its records\' caplen, naming the offset', () => {
    const p = join(dir, 'short-payload.mtrace');
    const evs = connection(0x400, 3e9, 40003).flat().map((e) => ({ ...e, payload: new Uint8Array(10) }));
    const { records, payload } = encodeEventsWithPayload(evs);
    const w = CaptureWriter.create(p, header({ snaplen: 10 }));
    w.batch('local', records, evs.length, payload.subarray(1));
    w.close();
    const r = new CaptureReader(p);
    try {
      const e = thrown(() => [...r.items()]);
      expect(e.message).toMatch(new RegExp(`damaged at byte \\d+: a batch whose records announce ${evs.length * 10} bytes of packet payload holds ${evs.length * 10 - 1}`));
    } finally {
      r.close();
    }
  });

  it('of event version 1 (before caplen) still replay: test/fixtures/lab-request.mtrace', () => {
    const r = new CaptureReader(join(__dirname, '..', 'fixtures', 'lab-request.mtrace'));
    try {
      expect(r.header.eventVersion).toBe(1);
      let events = 0;
      for (const it of r.items()) if (it.kind === 'batch') {
        const b = new EventBatch(it.batch.records, it.batch.count, it.batch.payload);
        expect(b.unknown).toBe(0);
        expect(b.payloadLength()).toBe(0);
        events += b.length;
      }
      expect(events).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });

  it('are written with mode 0600, even over an existing file', () => {
    const p = join(dir, 'mode.mtrace');
    writeFileSync(p, 'old');
    chmodSync(p, 0o644);
    writeCapture(p, [], []);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readFileSync(p).subarray(0, 8)).toEqual(MAGIC);
  });

  it('replay the same flows as the run that recorded them', () => {
    const batches = [...connection(0x100, 2e9, 40000), ...connection(0x200, 2.5e9, 40001, 2222)];
    const ticks = [2.1e9, undefined, 2.3e9, 2.6e9, undefined, 20e9] as number[];
    // the live side: the same calls, straight into a pipeline
    const live: FlowRecord[] = [];
    const p = pipeline(live);
    p.topology(snapshot);
    batches.forEach((evs, i) => {
      p.batch(new EventBatch(encodeEvents(evs)));
      if (ticks[i] !== undefined) p.tick(ticks[i]);
    });
    p.finish();
    const path = join(dir, 'same.mtrace');
    writeCapture(path, batches, ticks);
    const r = replayFile(path);
    expect(r.damage).toBeUndefined();
    expect(r.events).toBe(batches.flat().length);
    expect(live).toHaveLength(2);
    expect(JSON.stringify(r.flows)).toBe(JSON.stringify(live));
    expect(live[0].drops).toEqual([{ direction: 'forward', where: 'n1 · host · eth1', reason: 'NETFILTER_DROP', count: 1 }]);
  });

  it('--port on replay keeps what the kernel filter would: matches, the skb after NAT changed the port, replies by tuple', () => {
    const path = join(dir, 'filter.mtrace');
    writeCapture(path, [...connection(0x100, 2e9, 40000), ...connection(0x200, 2.5e9, 40001, 2222)], []);
    const f = new ReplayFilter({ port: 1080 });
    const r = replayFile(path, f);
    expect(r.flows.map((x) => x.server)).toEqual(['10.0.0.2:1080']);
    const all = replayFile(path).flows[0];
    expect(JSON.stringify(r.flows[0])).toBe(JSON.stringify(all));
    expect(f.filtered).toBe(connection(0x200, 2.5e9, 40001, 2222).flat().length);
    expect(replayFile(path, new ReplayFilter({ host: '10.0.0.0/24', proto: 'udp' })).flows).toEqual([]);
  });

  it('the header, topology, counters and end frame come back as written', () => {
    const path = join(dir, 'frames.mtrace');
    writeCapture(path, connection(0x100, 2e9, 40000), []);
    const r = new CaptureReader(path);
    expect(r.header).toMatchObject({ host: 'testhost', kernel: '6.1.0-test', clock: { monotonicNs: 1e9, wallNs: 1.7e18 }, dropReasons: { 6: 'NETFILTER_DROP' } });
    const kinds = [...r.items()].map((i) => i.kind);
    r.close();
    expect(kinds).toEqual(['topology', 'batch', 'batch', 'batch', 'counters', 'end']);
  });
});

describe('damaged capture files', () => {
  const good = join(dir, 'good.mtrace');
  writeCapture(good, connection(0x100, 2e9, 40000), []);
  const bytes = readFileSync(good);
  const put = (name: string, b: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };

  it('empty, random bytes and a missing file: one clear sentence each', () => {
    expect(thrown(() => new CaptureReader(put('empty', new Uint8Array()))).message).toMatch(/empty\b.* is not a mesh-trace capture/);
    expect(thrown(() => new CaptureReader(put('random', Buffer.from('hello world, not a capture at all')))).message).toMatch(/is not a mesh-trace capture/);
    expect(thrown(() => new CaptureReader(join(dir, 'nope'))).message).toMatch(/Cannot read .*nope: no such file/);
  });

  it('cut short: the frames before are replayed, the error names the offset', () => {
    for (const cut of [bytes.length - 1, bytes.length - 30, 200]) {
      const r = replayFile(put(`cut${cut}`, bytes.subarray(0, cut)));
      expect(r.damage).toBeInstanceOf(MeshTraceError);
      expect((r.damage as Error).message).toMatch(/is damaged at byte \d+: .*cut short/);
    }
    // cut inside the header frame: nothing to replay
    expect(thrown(() => new CaptureReader(put('cuthdr', bytes.subarray(0, 20)))).message).toMatch(/damaged at byte 8/);
  });

  it('a flipped byte fails its frame checksum, named by offset', () => {
    const bad = Buffer.from(bytes);
    bad[bad.length - 40] ^= 0xff;
    const r = replayFile(put('flip', bad));
    expect((r.damage as Error).message).toMatch(/damaged at byte \d+: frame \d+ fails its checksum/);
  });

  it('an absurd frame length is refused before any allocation', () => {
    const bad = Buffer.from(bytes);
    bad.writeUInt32LE(0xfffffff0, 8);
    expect(thrown(() => new CaptureReader(put('huge', bad))).message).toMatch(/damaged at byte 8: a frame announces 4294967280 bytes/);
  });

  it('a newer format version or event layout is refused with what to do', () => {
    const p = join(dir, 'v9.mtrace');
    CaptureWriter.create(p, header({ formatVersion: 9, toolVersion: '9.0.0' })).close();
    const e = thrown(() => new CaptureReader(p));
    expect(e.message).toMatch(/is capture format version 9; this mesh-trace reads version 1/);
    expect(e.hint).toMatch(/9\.0\.0/);
    const q = join(dir, 'ev3.mtrace');
    CaptureWriter.create(q, header({ eventVersion: 3 })).close();
    expect(thrown(() => new CaptureReader(q)).message).toMatch(/event records of layout version 3/);
  });
});

describe('an installation without its capture schema', () => {
  it('says the installation is incomplete, not that a capture is damaged, and writes no capture', () => {
    // the built tool copied without proto/ (a partial copy, a packaging mistake)
    const root = join(__dirname, '..', '..');
    const install = mkdtempSync(join(dir, 'install-'));
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(root, part), join(install, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(install, 'node_modules'));
    const r = spawnSync(process.execPath, [join(install, 'bin', 'mesh-trace.js'), 'replay', join(__dirname, '..', 'fixtures', 'lab-request.mtrace'), '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`mesh-trace's capture schema ${join(install, 'proto', 'capture.proto')} cannot be read (ENOENT`);
    expect(r.stderr).toContain('so the installation is incomplete.');
    expect(r.stderr).not.toMatch(/damaged/);
    // nor does a recording start: no stub file, and a file already there is left whole
    const kept = join(dir, 'kept.mtrace');
    writeFileSync(kept, 'an older capture');
    const write = `const { CaptureWriter } = await import(${JSON.stringify(pathToFileURL(join(install, 'dist', 'capture', 'writer.js')).href)});
for (const path of process.argv.slice(1)) {
  try { CaptureWriter.create(path, {}); } catch (err) { console.log(err.message); }
}`;
    const w = spawnSync(process.execPath, ['--input-type=module', '-e', write, join(dir, 'never.mtrace'), kept], { encoding: 'utf8' });
    expect(w.stdout.trim().split('\n')).toEqual([expect.stringMatching(/so the installation is incomplete\.$/), expect.stringMatching(/so the installation is incomplete\.$/)]);
    expect(existsSync(join(dir, 'never.mtrace'))).toBe(false);
    expect(readFileSync(kept, 'utf8')).toBe('an older capture');
  });
});
