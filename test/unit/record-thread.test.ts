// A large replay builds and prints its records on a thread of its own (cli/record-thread.ts).
// What it prints must be what one thread prints: the built replay command in a child
// process, its threshold set so that the same recording goes either way, its standard
// output and summary compared byte for byte — the lab's recording (names, NAT, the
// --netns filter) and a long one (hundreds of flows per hand-over); and its
// stops: `| head -c 100`, a filter with no topology to resolve it against, and a thread
// that dies without a word (an error, not a replay waiting forever).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureWriter } from '../../src/capture/writer.js';
import { FORMAT_VERSION } from '../../src/capture/format.js';
import { encodeEvents } from '../../src/events/encode.js';
import { EVENT_VERSION, RECORD_SIZE } from '../../src/events/layout.js';
import { headers, Walk, type Place } from './helpers/packets.js';

const LAB = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const REPLAY = pathToFileURL(join(__dirname, '..', '..', 'dist', 'cli', 'commands', 'replay.js')).href;
const THREAD = pathToFileURL(join(__dirname, '..', '..', 'dist', 'cli', 'record-thread.js')).href;
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-record-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the replay command's own function, with its threshold for the thread given; how many
 * threads it started goes to the file named last */
const SCRIPT = join(dir, 'replay.mjs');
writeFileSync(
  SCRIPT,
  `import { writeFileSync } from 'node:fs';
const { replayRecording } = await import(${JSON.stringify(REPLAY)});
const { RecordThread } = await import(${JSON.stringify(THREAD)});
const [file, threadMinBytes, opts, started] = [process.argv[2], Number(process.argv[3]), JSON.parse(process.argv[4]), process.argv[5]];
const start = RecordThread.start;
let threads = 0;
// a test's thread that dies instead of the real one
const threadFile = process.env.MT_TEST_RECORD_WORKER;
RecordThread.start = (setup) => {
  const t = threadFile ? start.call(RecordThread, setup, threadFile) : start.call(RecordThread, setup);
  if (t) threads++;
  return t;
};
process.on('exit', () => writeFileSync(started, String(threads)));
try {
  process.exitCode = replayRecording(file, { flowTimeoutNs: 5e9, spec: {}, flows: {}, ...opts }, !!opts.flows, threadMinBytes) ?? 0;
} catch (err) {
  process.stderr.write('error: ' + err.message + '\\n');
  process.exitCode = 3;
}
`,
);

/** 1,500 connections (or `flows`: SYN, SYN-ACK, `data` segments each way, a FIN each way)
 * 1 ms apart, a tick every 10 ms */
function longRecording(flows = 1500, data = 0): string {
  const path = join(dir, `long-${flows}-${data}.mtrace`);
  const w = CaptureWriter.create(path, {
    formatVersion: FORMAT_VERSION, eventVersion: EVENT_VERSION, recordSize: RECORD_SIZE, host: 'test', kernel: '', toolVersion: '',
    clock: { clock: 'local', monotonicNs: 0, wallNs: 0 }, filter: {}, snaplen: 0, argv: [], dropReasons: {},
  });
  const at: Place = { node: 'n1', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };
  for (let f = 0; f < flows; f++) {
    const t = 1e9 + f * 1e6;
    const c = `10.0.${f >> 8}.${f & 255}:40000`;
    const segments = Array.from({ length: data }, (_, k) => [headers(c, '10.9.0.1:80', { tcpFlags: 0x18, tcpSeq: 1001 + k * 100, ipLen: 140 }), headers('10.9.0.1:80', c, { tcpFlags: 0x10, tcpSeq: 5001, tcpAck: 1101 + k * 100 })]).flat();
    const packets = [headers(c, '10.9.0.1:80'), headers('10.9.0.1:80', c, { tcpFlags: 0x12 }), ...segments, headers(c, '10.9.0.1:80', { tcpFlags: 0x11, tcpSeq: 1001 + data * 100 }), headers('10.9.0.1:80', c, { tcpFlags: 0x11, tcpSeq: 5001 })];
    const evs = packets.flatMap((h, p) => new Walk((0x1000 + packets.length * f + p).toString(16), t + p * 1000, h).out(at).in(at).consume().events);
    w.batch('local', encodeEvents(evs), evs.length);
    if (f % 10 === 9) w.tick('local', t);
  }
  w.end(1e9 + flows * 1e6, 'duration');
  w.close();
  return path;
}

let runs = 0;

function run(file: string, thread: boolean, opts: object, pipe = '', worker = ''): Promise<{ code: number | null; out: string; err: string; threads: number }> {
  const started = join(dir, `threads-${++runs}`);
  const args = [SCRIPT, file, thread ? '0' : 'Infinity', JSON.stringify(opts), started];
  const env = { ...process.env, MT_TEST_RECORD_WORKER: worker };
  const child = pipe
    ? spawn('sh', ['-c', `"$0" "$@" ${pipe}`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // a child that never got to say (it failed to start) started none
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err, threads: existsSync(started) ? Number(readFileSync(started, 'utf8')) : -1 })));
}

/** the same output either way; `threads`: how many the second run started (none with --count) */
async function same(file: string, opts: object, code = 0, threads = 1): Promise<string> {
  const [one, two] = await Promise.all([run(file, false, opts), run(file, true, opts)]);
  expect(one.code).toBe(code);
  expect([one.threads, two.threads]).toEqual([0, threads]);
  expect({ ...two, threads: 0 }).toEqual(one);
  return one.out;
}

describe('records built on a thread of their own', () => {
  it('print what one thread prints: the lab recording as NDJSON and as paths', async () => {
    expect((await same(LAB, { json: true })).split('\n').length).toBeGreaterThan(1);
    await same(LAB, {});
  });

  it('filter as one thread does (--netns); --count stays on one thread', async () => {
    const onlyNginx = await same(LAB, { json: true, flows: { netns: ['nginx.1'] } });
    expect(onlyNginx).not.toBe('');
    // a name the recording's topology does not have: the same one sentence, exit 3 here
    await same(LAB, { json: true, flows: { netns: ['no-such-namespace'] } }, 3);
    await same(LAB, { json: true, count: 1 }, 0, 0);
  });

  it('print what one thread prints when each hand-over holds hundreds of flows', async () => {
    const long = longRecording();
    expect((await same(long, { json: true })).trim().split('\n')).toHaveLength(1500);
    await same(long, {});
    await same(long, { json: true, count: 700 }, 0, 0);
  });

  it('print what one thread prints when hand-overs fill their buffers and the thread hands them back', async () => {
    // 3,000 connections of 44 packets, 132 records: a hand-over's 2 MB hold about 100, so
    // some 30 batches go over, more than are let ahead at once, in buffers written again
    const long = longRecording(3000, 20);
    expect((await same(long, { json: true })).trim().split('\n')).toHaveLength(3000);
  });

  it('stop the replay when the reader leaves (`| head -c 100`), quietly', async () => {
    const r = await run(longRecording(), true, { json: true }, '| head -c 100');
    expect(r.code).toBe(0);
    expect(r.threads).toBe(1);
    expect(r.out).toHaveLength(100);
    expect(r.err).not.toMatch(/EPIPE|Unhandled|error|at /);
    expect(r.err).toMatch(/flows? from \d+ events/);
  });

  it('say what one thread says when a filter has no topology to resolve it against', async () => {
    const long = longRecording();
    const [one, two] = await Promise.all([run(long, false, { json: true, flows: { netns: ['x'] } }), run(long, true, { json: true, flows: { netns: ['x'] } })]);
    expect(one.err).toMatch(/^error: There is no topology to resolve --container, --service or --netns against\.$/m);
    expect(two.err).toMatch(/^error: There is no topology to resolve --container, --service or --netns against\.$/m);
    expect([two.code, two.out, two.threads]).toEqual([one.code, one.out, 1]);
  });

  it('stop with an error, not a wait, when the thread dies without a word', async () => {
    // its code fails to load: found when the replay waits for it to finish
    const unloadable = join(dir, 'unloadable.mjs');
    writeFileSync(unloadable, `import './no-such-module.mjs';\n`);
    // it takes some flows, then fails outside its handlers: found while the replay waits
    // for it to catch up (more flows than the replay hands over unanswered)
    const dies = join(dir, 'dies.mjs');
    writeFileSync(
      dies,
      `import { workerData } from 'node:worker_threads';
const state = new Int32Array(workerData.shared);
workerData.port.on('message', (m) => {
  if (m.kind !== 'flows') return;
  Atomics.add(state, 0, m.count);
  setTimeout(() => { throw new Error('the thread failed'); }, 10);
});
`,
    );
    for (const [worker, file] of [[unloadable, longRecording()], [dies, longRecording(5000)]]) {
      const t0 = Date.now();
      const r = await run(file, true, { json: true }, '', worker);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(r.threads).toBe(1);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/^error: The thread printing the flows ended without a word after \d+ of \d+ flows, so the output is incomplete\.$/m);
    }
  });
});
