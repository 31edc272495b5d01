// Bounded fuzzing of every reader, in CI: thousands of mutations of real captures (the
// lab's recording, tcpdump's pcap and tshark's pcapng in test/fixtures) go through the same
// code as `mesh-trace replay`. Each must end in flows or in one MeshTraceError — never
// another exception, never a hang. Mutations are seeded, so a failure names its case.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/capture/reader.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { replayCapture } from '../../src/capture/replay.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import { ReplayFilter } from '../../src/events/replay-filter.js';
import { PcapImport } from '../../src/pcap/import.js';
import { replayPcap } from '../../src/pcap/replay.js';
import { MeshTraceError } from '../../src/errors.js';
import type { PrefetchOptions } from '../../src/capture/prefetch.js';

const fx = (name: string) => join(__dirname, '..', 'fixtures', name);
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** xorshift32: the same mutations on every run */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Buffer.from(src);
  const int = (n: number) => Math.floor(r() * n);
  switch (int(6)) {
    case 0: // flip bits
      for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 1: // cut short
      return b.subarray(0, int(b.length));
    case 2: // interesting values in a 32-bit field (lengths, counts)
      b.writeUInt32LE([0, 1, 0xffffffff, 0x7fffffff, 12, 0x10000, int(1 << 30)][int(7)], Math.min(int(b.length), b.length - 4));
      return b;
    case 3: // delete a range
      return Buffer.concat([b.subarray(0, int(b.length)), b.subarray(int(b.length))]);
    case 4: // duplicate a range
      {
        const s = int(b.length);
        const e = Math.min(b.length, s + int(512));
        return Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]);
      }
    default: // random bytes over a range
      for (let k = int(64), o = int(b.length); k > 0 && o < b.length; k--, o++) b[o] = int(256);
      return b;
  }
}

/** replay one file as the CLI does; returns how it ended (and what it said) */
function replayAny(path: string, kind: 'capture' | 'pcap', prefetch?: PrefetchOptions, said?: string[]): 'ok' | 'error' {
  try {
    const flows: unknown[] = [];
    let damage: unknown;
    if (kind === 'capture') {
      // the read-ahead runs read into again as the command's are
      const reader = new CaptureReader(path, { prefetch, reuseChunks: true });
      try {
        const p = new FlowPipeline({ wallClock: (_c, ns) => ns, dropReason: String, events: new ReplayFilter({ port: 1080 }), onFlows: (f) => flows.push(...f) });
        damage = replayCapture(reader, p).damage;
      } finally {
        reader.close();
      }
    } else {
      const imp = new PcapImport([path]);
      try {
        const p = new FlowPipeline({ namer: imp.namer(String), wallClock: (_c, ns) => ns, dropReason: String, onFlows: (f) => flows.push(...f) });
        damage = replayPcap(imp, p).damage;
      } finally {
        imp.close();
      }
    }
    said?.push(JSON.stringify(flows));
    if (damage) throw damage;
    return 'ok';
  } catch (err) {
    if (!(err instanceof MeshTraceError)) throw err;
    said?.push(err.message);
    return 'error';
  }
}

/** the lab's recording again, as if made with --snaplen 64: each record followed by 0-64
 * bytes (an IP header and a little TCP payload), so the payload checks get fuzzed too */
function withPayload(): Uint8Array {
  const path = join(dir, 'snaplen-src.mtrace');
  const reader = new CaptureReader(fx('lab-request.mtrace'));
  const items = [...reader.items()];
  const w = CaptureWriter.create(path, { ...reader.header, eventVersion: 2, snaplen: 64 });
  reader.close();
  let k = 0;
  for (const it of items) {
    if (it.kind === 'topology') w.topology(it.snapshot, it.monotonicNs);
    else if (it.kind === 'tick') w.tick(it.tick.clock, it.tick.nowNs);
    else if (it.kind === 'batch') {
      const recs = Buffer.from(it.batch.records);
      const parts: Buffer[] = [];
      for (let i = 0; i < it.batch.count; i++) {
        const n = (k++ * 13) % 65;
        recs[i * 160 + 1] = 2;
        recs.writeUInt32LE(n, i * 160 + 52);
        const bytes = Buffer.alloc(n, 0x61);
        if (n >= 20) bytes[0] = 0x45;
        parts.push(bytes);
      }
      w.batch(it.batch.clock, recs, it.batch.count, Buffer.concat(parts));
    } else if (it.kind === 'counters') w.counters(it.counters);
    else if (it.kind === 'end') w.end(it.end.monotonicNs, it.end.reason, it.end.counters);
  }
  w.close();
  return readFileSync(path);
}

const CASES = Number(process.env.MESH_TRACE_FUZZ_CASES ?? 1500);

describe('fuzz: damaged inputs end in flows or one clear error', () => {
  for (const [name, kind] of [
    ['lab-request.mtrace', 'capture'],
    ['snaplen', 'capture'],
    ['lab-underlay.pcap', 'pcap'],
    ['lab-eth0-eth1.pcapng', 'pcap'],
  ] as const) {
    it(`${CASES} mutations of ${name}`, () => {
      const src = name === 'snaplen' ? withPayload() : readFileSync(fx(name));
      const seen = { ok: 0, error: 0 };
      const path = join(dir, name);
      for (let i = 0; i < CASES; i++) {
        writeFileSync(path, mutate(src, rng(i * 7919 + 1)));
        const t0 = Date.now();
        try {
          seen[replayAny(path, kind)]++;
        } catch (err) {
          throw new Error(`case ${i} of ${name}: ${(err as Error).stack}`);
        }
        expect(Date.now() - t0, `case ${i} of ${name} took too long`).toBeLessThan(5000);
      }
      expect(seen.ok + seen.error).toBe(CASES);
    }, 300_000);
  }

  // a thread each: fewer, in runs of 8 KB so damage falls in the thread's runs and beyond
  it(`${Math.ceil(CASES / 10)} mutations of lab-request.mtrace end the same read ahead on a thread as read alone`, () => {
    const src = readFileSync(fx('lab-request.mtrace'));
    const path = join(dir, 'ahead.mtrace');
    for (let i = 0; i < Math.ceil(CASES / 10); i++) {
      writeFileSync(path, mutate(src, rng(i * 104729 + 3)));
      const alone: string[] = [];
      const ahead: string[] = [];
      const a = replayAny(path, 'capture', { minBytes: Infinity }, alone);
      const b = replayAny(path, 'capture', { minBytes: 0, chunkBytes: 8192 }, ahead);
      expect([b, ahead], `case ${i}`).toEqual([a, alone]);
    }
  }, 300_000);

  it('records damaged inside valid frames (garbage events) still correlate without a crash', () => {
    const reader = new CaptureReader(fx('lab-request.mtrace'));
    const items = [...reader.items()];
    const header = reader.header;
    reader.close();
    const path = join(dir, 'garbage-events.mtrace');
    for (let i = 0; i < 200; i++) {
      const r = rng(i + 12345);
      const w = CaptureWriter.create(path, header);
      for (const it of items) {
        if (it.kind === 'topology') w.topology(it.snapshot, it.monotonicNs);
        else if (it.kind === 'tick') w.tick(it.tick.clock, it.tick.nowNs);
        else if (it.kind === 'batch') {
          const recs = Buffer.from(it.batch.records);
          for (let k = 0; k < 1 + Math.floor(r() * 40); k++) recs[Math.floor(r() * recs.length)] = Math.floor(r() * 256);
          w.batch(it.batch.clock, recs, it.batch.count);
        }
      }
      w.close();
      expect(() => replayAny(path, 'capture'), `case ${i}`).not.toThrow();
    }
  }, 300_000);
});
