// Read-ahead runs read into again once nothing points into them (capture/chunk-lease.ts):
// a replay that reuses them gives the flows one that never does gives, byte for byte, and
// runs really were read into again. A holder the count missed would read a run the thread
// had taken back: a detached buffer (an exception), or another part of the file. Two
// recordings, through the real read-ahead thread (compiled dist/, small runs): the lab's
// request from many client ports, 10 ms apart (NATs, VXLAN, clones, late frees: flows
// finish while later ones are read), and long connections whose journeys copy their
// records out of the batches after a second (Journey.compact) while short ones come and go.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/capture/reader.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { replayCapture } from '../../src/capture/replay.js';
import { FORMAT_VERSION } from '../../src/capture/format.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import { encodeEvents } from '../../src/events/encode.js';
import { EVENT_VERSION, RECORD_SIZE } from '../../src/events/layout.js';
import { dropReasonsFrom } from '../../src/probe/btf-enum.js';
import { writeLabFlows } from '../../bench/lab-flows.js';
import { headers, Walk, type Place } from './helpers/packets.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-chunk-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** every flow record as NDJSON, and how many runs were read and read into again; runs of
 * chunkBytes (a recording of a few MB is many of them), or of a frame larger than that */
function replay(path: string, chunkBytes: number, reuseChunks: boolean): { flows: string[]; runs: number; reused: number } {
  const r = new CaptureReader(path, { prefetch: { minBytes: 0, chunkBytes }, reuseChunks });
  const flows: string[] = [];
  const p = new FlowPipeline({ wallClock: (_c, ns) => ns, dropReason: dropReasonsFrom(r.header.dropReasons ?? {}), onFlows: (f) => flows.push(...f.map((x) => JSON.stringify(x))) });
  const res = replayCapture(r, p);
  r.close();
  expect(res.damage).toBeUndefined();
  return { flows, runs: r.runsPrefetched, reused: r.runsReused };
}

function same(path: string, chunkBytes: number, minFlows: number): void {
  const fresh = replay(path, chunkBytes, false);
  const reused = replay(path, chunkBytes, true);
  expect(fresh.flows.length).toBeGreaterThanOrEqual(minFlows);
  expect(fresh.reused).toBe(0);
  expect(reused.runs).toBeGreaterThan(30);
  // a good part of the runs are read into again: what flows point into goes back as they
  // finish, a quarter of a second after their close
  expect(reused.reused).toBeGreaterThan(reused.runs / 3);
  expect(reused.flows).toEqual(fresh.flows);
}

/** 300 short connections 5 ms apart, and 4 that send a segment every 50 ms for 2 s */
function longAndShort(): string {
  const path = join(dir, 'long-and-short.mtrace');
  const w = CaptureWriter.create(path, {
    formatVersion: FORMAT_VERSION, eventVersion: EVENT_VERSION, recordSize: RECORD_SIZE, host: 'test', kernel: '', toolVersion: '',
    clock: { clock: 'local', monotonicNs: 0, wallNs: 0 }, filter: {}, snaplen: 0, argv: [], dropReasons: {},
  });
  const client: Place = { node: 'n1', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };
  const server: Place = { node: 'n1', netns: 'server', inode: 200, device: 'eth0', ifindex: 3 };
  const packets: { t: number; c: string; h: ReturnType<typeof headers>; toServer: boolean }[] = [];
  const conn = (c: string, t0: number, segments: number, every: number) => {
    const s = '10.9.0.1:80';
    packets.push({ t: t0, c, h: headers(c, s), toServer: true }, { t: t0 + 1e5, c, h: headers(s, c, { tcpFlags: 0x12 }), toServer: false });
    for (let k = 0; k < segments; k++) packets.push({ t: t0 + (k + 1) * every, c, h: headers(c, s, { tcpFlags: 0x18, tcpSeq: 1001 + k * 100, ipLen: 140 }), toServer: true });
    const end = t0 + (segments + 1) * every;
    packets.push({ t: end, c, h: headers(c, s, { tcpFlags: 0x11, tcpSeq: 1001 + segments * 100 }), toServer: true }, { t: end + 1e5, c, h: headers(s, c, { tcpFlags: 0x11, tcpSeq: 5001 }), toServer: false });
  };
  for (let f = 0; f < 300; f++) conn(`10.0.1.${f & 255}:${40000 + f}`, 1e9 + f * 5e6, 2, 2e6);
  for (let f = 0; f < 4; f++) conn(`10.0.2.${f}:50000`, 1e9 + f * 1e7, 40, 5e7);
  packets.sort((a, b) => a.t - b.t);
  let nextTick = 0;
  for (let p = 0; p < packets.length; p++) {
    const { t, h, toServer } = packets[p];
    const walk = new Walk((0x10000 + p).toString(16), t, h, 1000);
    if (toServer) walk.out(client).in(server);
    else walk.out(server).in(client);
    const evs = walk.consume().events;
    w.batch('local', encodeEvents(evs), evs.length);
    if (t >= nextTick) {
      w.tick('local', t);
      nextTick = t + 1e7;
    }
  }
  w.end(packets[packets.length - 1].t + 1e9, 'duration');
  w.close();
  return path;
}

describe('read-ahead runs read into again', () => {
  it('give the same flows on the lab request from many client ports', () => {
    const path = join(dir, 'lab.mtrace');
    writeLabFlows(path, 100, 10_000_000);
    // runs larger than a batch's frame (1,024 records): all of one size, any one given
    // back fits the next
    same(path, 256 << 10, 100);
  });

  it('give the same flows when long connections copy their records out of the batches', () => {
    same(longAndShort(), 32 << 10, 304);
  });
});
