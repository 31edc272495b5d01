// Where the flows go when standard output goes away: `| head` closing the pipe ends the
// run quietly, a full disk is told in one sentence with exit code 74. The built CLI, as
// a user runs it, replaying a recording of the lab.
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { CaptureWriter } from '../../src/capture/writer.js';
import { FORMAT_VERSION } from '../../src/capture/format.js';
import { encodeEvents } from '../../src/events/encode.js';
import { EVENT_VERSION, RECORD_SIZE } from '../../src/events/layout.js';
import { headers, Walk, type Place } from './helpers/packets.js';

const RECORDING = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** FLOWS connections 20 ms apart (SYN, SYN-ACK, a FIN each way), a tick every 10 ms: each
 * is reported while the rest of the file is still to be read */
const FLOWS = 400;
function longRecording(): { path: string; events: number } {
  const path = join(dir, 'long.mtrace');
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
    w.tick('local', t + 10e6);
  }
  w.end(1e9 + FLOWS * 20e6, 'duration');
  w.close();
  return { path, events };
}

function replay(stdout: 'closed' | number, file = RECORDING): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [CLI, 'replay', file, '--json'], { stdio: ['ignore', stdout === 'closed' ? 'pipe' : stdout, 'pipe'] });
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

  it('stops reading the capture once the reader is gone, and never queues flows behind it', async () => {
    const long = longRecording();
    const r = await replay('closed', long.path);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/EPIPE|Unhandled|at /);
    // the summary counts the events read: those up to the first flows written
    const read = Number(/ from (\d+) events/.exec(r.err)?.[1]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(long.events / 4);
  });

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
