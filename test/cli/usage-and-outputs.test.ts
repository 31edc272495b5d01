// The built command's answers to a wrong command line and to output files it cannot write:
// usage mistakes exit 64 wherever commander finds them (the root, a subcommand, a nested
// one); an output path that cannot be created is one sentence and exit 73, said before any
// work; a run that fails leaves no empty output files behind, and a device is never
// chmodded or removed.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('usage mistakes', () => {
  it('exit 64 at the root, in a subcommand and in a nested one, saying what is wrong', () => {
    for (const [args, said] of [
      [['--port'], /option '-p, --port <port>' argument missing/],
      [['replay'], /missing required argument 'files'/],
      [['export', '--pcapng'], /option '--pcapng <file>' argument missing/],
      [['lab', 'frobnicate'], /unknown command 'frobnicate'/],
      [['replay', FIXTURE, '--no-such-option'], /unknown option '--no-such-option'/],
    ] as const) {
      const r = run(...args);
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 64]);
      expect(r.stderr).toMatch(said);
    }
    expect(run('--help').status).toBe(0);
    expect(run('replay', '--help').status).toBe(0);
  });
});

describe('output files', () => {
  const nowhere = join(dir, 'no-such-dir');

  it('a path that cannot be created: one sentence, exit 73', () => {
    for (const [args, what, option] of [
      [['hotspots', '--from', FIXTURE, '--html', join(nowhere, 'x.html')], 'the HTML report', '--html'],
      [['hotspots', '--from', FIXTURE, '--flows', join(nowhere, 'x.ndjson')], 'the flow records', '--flows'],
      [['export', '--pcapng', join(nowhere, 'x.pcapng'), '--from', FIXTURE], 'the pcapng', '--pcapng'],
      [['hotspots', '--from', FIXTURE, '--html', dir], 'the HTML report', '--html'],
    ] as const) {
      const r = run(...args);
      const path = args[args.indexOf(option) + 1];
      expect([args.join(' '), r.status, r.stdout]).toEqual([args.join(' '), 73, '']);
      const why = path === dir ? 'it is a directory' : 'its directory does not exist';
      expect(r.stderr).toBe(`mesh-trace: Cannot write ${what} to ${path}: ${why}.\n  Choose a writable path with ${option}.\n`);
    }
  });

  it('written when the run succeeds; none left behind, empty, when it fails', () => {
    const html = join(dir, 'hot.html');
    const flows = join(dir, 'flows.ndjson');
    const failed = run('hotspots', '--from', join(dir, 'missing.mtrace'), '--html', html, '--flows', flows);
    expect(failed.status).toBe(66);
    expect([existsSync(html), existsSync(flows)]).toEqual([false, false]);
    const ok = run('hotspots', '--from', FIXTURE, '--html', html, '--flows', flows);
    expect(ok.status).toBe(0);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/i);
    const lines = readFileSync(flows, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(['flow']);
    // a file that was there before is the user's: a failed run does not remove it
    const again = run('hotspots', '--from', join(dir, 'missing.mtrace'), '--html', html);
    expect(again.status).toBe(66);
    expect(existsSync(html)).toBe(true);
  });

  it('export: a failed run leaves no pcapng without packets; the packets before damage stay, said', () => {
    const cut = join(dir, 'cut.mtrace');
    writeFileSync(cut, readFileSync(FIXTURE).subarray(0, 40));
    const none = join(dir, 'none.pcapng');
    const r = run('export', '--pcapng', none, '--from', cut);
    expect([r.status, existsSync(none)]).toEqual([65, false]);
    expect(r.stderr).not.toMatch(/^wrote/m);
    // a whole recording with damage after it: its flow is exported before the damage is met
    const tail = join(dir, 'tail.mtrace');
    writeFileSync(tail, Buffer.concat([readFileSync(FIXTURE), Buffer.from('not a frame')]));
    const some = join(dir, 'some.pcapng');
    const t = run('export', '--pcapng', some, '--from', tail);
    expect(t.status).toBe(65);
    expect(t.stderr).toMatch(new RegExp(`^wrote \\d+ packets of 1 flow to ${some}$`, 'm'));
    expect(t.stderr).toMatch(/damaged at byte/);
    expect(readFileSync(some).readUInt32LE(0)).toBe(0x0a0d0d0a);
  });

  it.skipIf(process.getuid?.() !== 0)('a recording that fails before tracing removes only a capture file it created (needs root: mknod, tracing)', () => {
    // a copy of the null device, so that a regression removes this and not /dev/null
    const dev = join(dir, 'null-device');
    spawnSync('mknod', [dev, 'c', '1', '3']);
    const older = join(dir, 'older.mtrace');
    writeFileSync(older, 'an older capture');
    const fresh = join(dir, 'fresh.mtrace');
    for (const path of [dev, older, fresh]) {
      // the filter names no container: the run fails after the capture is opened
      const r = run('--port', '1', '-w', path, '--container', 'no-such-container-here');
      expect([path, r.status === 0]).toEqual([path, false]);
    }
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(existsSync(older)).toBe(true);
    expect(existsSync(fresh)).toBe(false);
  });

  it('a device given as the path is written to, never chmodded or removed (as root this matters)', () => {
    const before = statSync('/dev/null').mode;
    try {
      expect(run('export', '--pcapng', '/dev/null', '--from', FIXTURE).status).toBe(0);
      expect(run('hotspots', '--from', join(dir, 'missing.mtrace'), '--html', '/dev/null').status).toBe(66);
      expect(statSync('/dev/null').mode).toBe(before);
      expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    } finally {
      // put it back if a regression changed it, rather than leave the machine broken
      if (statSync('/dev/null').mode !== before) chmodSync('/dev/null', before & 0o777);
    }
  });
});
