// Where the flows go when standard output goes away: `| head` closing the pipe ends the
// run quietly, a full disk is told in one sentence with exit code 74. The built CLI, as
// a user runs it, replaying a recording of the lab. And where they go when its reader
// stops reading during live tracing: the built FlowOutput in a child process, as live
// tracing sets it up (no kernel needed for that), writing into a real pipe.
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { OUTPUT_BACKLOG_BYTES } from '../../src/cli/flow-output.js';
import { request } from './helpers/flows.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { FORMAT_VERSION } from '../../src/capture/format.js';
import { encodeEvents } from '../../src/events/encode.js';
import { EVENT_VERSION, RECORD_SIZE } from '../../src/events/layout.js';
import { headers, Walk, type Place } from './helpers/packets.js';

const RECORDING = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** FLOWS connections 20 ms apart (SYN, SYN-ACK, a FIN each way), a tick every 10 ms: each
 * is reported while the rest of the file is still to be read. perTick: a tick only after
 * that many, so that each reports that many at once (one write larger than a pipe holds) */
const FLOWS = 400;
function longRecording(perTick = 1): { path: string; events: number } {
  const path = join(dir, `long-${perTick}.mtrace`);
  const w = CaptureWriter.create(path, {
    formatVersion: FORMAT_VERSION, eventVersion: EVENT_VERSION, recordSize: RECORD_SIZE, host: 'test', kernel: '', toolVersion: '',
    clock: { clock: 'local', monotonicNs: 0, wallNs: 0 }, filter: {}, snaplen: 0, argv: [], dropReasons: {},
  });
  const at: Place = { node: 'n1', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };
  let events = 0;
  for (let f = 0; f < FLOWS; f++) {
    const t = 1e9 + f * 20e6;
    const c = `10.0.${f >> 8}.${f & 255}:40000`;
    const packets = [headers(c, '10.9.0.1:80'), headers('10.9.0.1:80', c, { tcpFlags: 0x12 }), headers(c, '10.9.0.1:80', { tcpFlags: 0x11, tcpSeq: 1001 }), headers('10.9.0.1:80', c, { tcpFlags: 0x11, tcpSeq: 5001 })];
    const evs = packets.flatMap((h, p) => new Walk((0x1000 + 4 * f + p).toString(16), t + p * 1000, h).out(at).consume().events);
    w.batch('local', encodeEvents(evs), evs.length);
    events += evs.length;
    if ((f + 1) % perTick === 0) w.tick('local', t + 10e6);
  }
  w.end(1e9 + FLOWS * 20e6, 'duration');
  w.close();
  return { path, events };
}

/** closed: the reader is gone before the first flow is written; head: the real `head -c
 * 100`, which reads 100 bytes and leaves while a write larger than the pipe holds is
 * still going (the rest of it fails, and the failure was only reported later) */
function replay(stdout: 'closed' | 'head' | number, file = RECORDING): Promise<{ code: number | null; err: string }> {
  const child =
    stdout === 'head'
      ? spawn('sh', ['-c', '"$0" "$1" replay "$2" --json | head -c 100 >/dev/null', process.execPath, CLI, file], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, [CLI, 'replay', file, '--json'], { stdio: ['ignore', stdout === 'closed' ? 'pipe' : stdout, 'pipe'] });
  // the reader is gone before the first flow is written
  if (stdout === 'closed') child.stdout!.destroy();
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
}

describe('flow output', () => {
  it('stops quietly when the reader closes the pipe (`| head`)', async () => {
    const r = await replay('closed');
    expect(r.err).not.toMatch(/EPIPE|Unhandled|at /);
    expect(r.err).toMatch(/flow/);
    expect(r.code).toBe(0);
  });

  /** the run ended quietly having read less than `share` of the recording's events */
  async function stopsEarly(reader: 'closed' | 'head', perTick: number, share: number): Promise<void> {
    const long = longRecording(perTick);
    const r = await replay(reader, long.path);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/EPIPE|Unhandled|at /);
    // the summary counts the events read: those up to the first flows written
    const read = Number(/ from (\d+) events/.exec(r.err)?.[1]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(long.events * share);
  }

  it('stops reading the capture once the reader is gone, and never queues flows behind it', () => stopsEarly('closed', 1, 1 / 4));

  it('stops reading the capture when the reader leaves in the middle of a write (`| head -c 100`)', () => stopsEarly('head', 80, 1 / 2));

  it.runIf(existsSync('/dev/full'))('says so in one sentence, with exit code 74, when the output cannot be written', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const r = await replay(fd);
      expect(r.err).toMatch(/^mesh-trace: the flows could not be written to standard output \(ENOSPC\)/m);
      expect(r.err).not.toMatch(/Unhandled|at /);
      expect(r.code).toBe(74);
    } finally {
      closeSync(fd);
    }
  });
});

/** live tracing's output, non-blocking, writing `total` copies of one lab request (its id
 * changed) a hundred at a time, each hundred flushed as the pipeline does when it
 * settles, and saying on stderr what it printed, left out, held and grew by; then, once
 * the reader has taken everything (`drain`), a hundred more, and the closing summary */
const LIVE_WRITER = `
const [outputUrl, styleUrl, template, total] = process.argv.slice(1);
const { FlowOutput, flowSummary } = await import(outputUrl);
const { style } = await import(styleUrl);
const record = JSON.parse(template);
const output = new FlowOutput({ json: true, style: style(false), clock: (ns) => ns });
const hundred = (from) => {
  const flows = [];
  for (let id = from; id < from + 100; id++) flows.push({ ...record, id });
  output.write(flows);
  output.flush();
};
const rss0 = process.memoryUsage().rss;
let backlog = 0;
for (let i = 0; i < Number(total); i += 100) {
  hundred(i);
  backlog = Math.max(backlog, process.stdout.writableLength);
}
const rssGrowth = process.memoryUsage().rss - rss0;
process.stderr.write('stalled ' + JSON.stringify({ printed: output.printed, dropped: output.dropped, backlog, rssGrowth }) + '\\n');
await new Promise((resolve) => process.stdout.once('drain', resolve));
hundred(Number(total));
output.close();
const k = { events: Number(total) + 100, flowsFiltered: 0, flowsEvicted: 0, journeysEvicted: 0, eventsTruncated: 0 };
process.stderr.write(flowSummary(output.printed, k, { ringFull: 0, queueFull: 0, outputDropped: output.dropped }));
`;

interface Stalled {
  printed: number;
  dropped: number;
  /** the most standard output held after a write, bytes */
  backlog: number;
  rssGrowth: number;
}

/** the reader stays stopped until the writer has written `flows`, then reads it all */
async function liveBehindStoppedReader(flows: number): Promise<{ stalled: Stalled; err: string; out: string; code: number | null }> {
  const dist = join(__dirname, '..', '..', 'dist', 'cli');
  const args = [pathToFileURL(join(dist, 'flow-output.js')).href, pathToFileURL(join(dist, 'style.js')).href, JSON.stringify(request(1)), String(flows)];
  const child = spawn(process.execPath, ['--input-type=module', '-e', LIVE_WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const stalled = new Promise<Stalled>((resolve) =>
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /^stalled (.*)$/m.exec(err);
      if (m) resolve(JSON.parse(m[1]));
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const s = await Promise.race([stalled, exited.then(() => Promise.reject(new Error(`the writer exited first: ${err}`)))]);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await exited;
  return { stalled: s, err, out, code };
}

describe('live flow output', () => {
  it('leaves flows out, and counts them, rather than queue them behind a reader that stopped', async () => {
    const FLOWS = 200_000;
    const line = JSON.stringify(request(1)).length + 1;
    const { stalled, err, out, code } = await liveBehindStoppedReader(FLOWS);
    expect(code).toBe(0);
    // what standard output holds stays within the bound and the one flow that crossed it
    expect(stalled.backlog).toBeLessThanOrEqual(OUTPUT_BACKLOG_BYTES + line);
    // unbounded, it would have queued every flow: about 850 MB
    expect(stalled.rssGrowth).toBeLessThan(8 * OUTPUT_BACKLOG_BYTES);
    expect(stalled.dropped).toBeGreaterThan(FLOWS / 2);
    expect(stalled.printed + stalled.dropped).toBe(FLOWS);
    expect(err.match(/not keeping up/g)).toHaveLength(1);
    expect(err).toMatch(/^mesh-trace: the reader of standard output is not keeping up/m);
    // the hundred written once the reader caught up are printed
    expect(err).toMatch(new RegExp(`^${stalled.printed + 100} flows from ${FLOWS + 100} events; lost: ring 0, queue 0, output ${stalled.dropped}, flows evicted 0,`, 'm'));
    // what was printed arrives whole: complete NDJSON lines, the first flows, then the last
    const lines = out.split('\n');
    expect(lines.pop()).toBe('');
    const ids = lines.map((l) => (JSON.parse(l) as { id: number }).id);
    const expected = Array.from({ length: stalled.printed }, (_, i) => i).concat(Array.from({ length: 100 }, (_, i) => FLOWS + i));
    expect(ids).toEqual(expected);
  });
});
