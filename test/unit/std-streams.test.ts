// The built command with its standard streams gone or failing, as pipes and devices really
// do it: a reader that left before the first write (`| head -c 0`: standard output alone,
// or both with 2>&1) stops it quietly with the exit code it would have had; /dev/full
// makes it say so once and exit 74. No stack trace, ever. And input that cannot be read
// by offset (a pipe, standard input, a directory) is one sentence saying what to do.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');
const COMMANDS = [
  ['replay', FIXTURE],
  ['replay', FIXTURE, '--json'],
  ['hotspots', '--from', FIXTURE],
  ['hotspots', '--from', FIXTURE, '--json'],
];

/** the command with its output pipes' read ends closed before it starts (stderr too, or read) */
function closedPipes(args: string[], stderrToo: boolean): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let err = '';
  if (stderrToo) child.stderr.destroy();
  else child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
}

function toDevFull(args: string[]): Promise<{ code: number | null; err: string }> {
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', full, 'pipe'] });
  closeSync(full);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
}

describe('standard output and error going away', () => {
  it('a closed standard output stops a command quietly, exit 0', async () => {
    for (const args of COMMANDS) {
      const r = await closedPipes(args, false);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 0]);
      expect(r.err).not.toMatch(/EPIPE|Error|\n\s+at /);
    }
  });

  it('standard error closed as well (2>&1 | head): still exit 0', async () => {
    for (const args of COMMANDS) expect([args.join(' '), (await closedPipes(args, true)).code]).toEqual([args.join(' '), 0]);
  });

  it('a full device: one sentence, exit 74', async () => {
    for (const args of COMMANDS) {
      const r = await toDevFull(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 74]);
      expect(r.err.match(/could not be written to standard output|standard output could not be written/g)).toHaveLength(1);
      expect(r.err).toMatch(/\(ENOSPC\)/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});

describe('input that is not a file', () => {
  // standard input as a socket (what node hands a child), or read from a shell's pipe
  const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [CLI, ...args], { input: input ?? Buffer.alloc(0), encoding: 'utf8' });
  const piped = (args: string[]) => spawnSync('sh', ['-c', 'f=$0 node=$1 cli=$2; shift 2; cat "$f" | "$node" "$cli" "$@"', FIXTURE, process.execPath, CLI, ...args], { encoding: 'utf8' });
  const hint = '\n  Save it to a file first (e.g. `ssh host cat capture.mtrace > capture.mtrace`) and give that file.\n';

  it('a pipe, a socket, standard input (-), a directory: one sentence each, saying how to make it a file', () => {
    const capture = readFileSync(FIXTURE);
    for (const args of [['replay', '/dev/stdin'], ['export', '--pcapng', '/dev/null', '--from', '/dev/stdin']]) {
      const r = piped(args);
      expect([args.join(' '), r.status, r.stdout]).toEqual([args.join(' '), 66, '']);
      expect(r.stderr).toBe(`mesh-trace: Cannot read /dev/stdin: it is a pipe, and mesh-trace reads its input by offset, from a file.${hint}`);
    }
    const socket = run(['replay', '/dev/stdin'], capture);
    expect([socket.status, socket.stderr]).toEqual([66, `mesh-trace: Cannot read /dev/stdin: it is a socket, and mesh-trace reads its input by offset, from a file.${hint}`]);
    const dash = run(['replay', '-'], capture);
    expect([dash.status, dash.stderr.split('\n')[0]]).toEqual([66, 'mesh-trace: Cannot read -: mesh-trace reads its input from a file, not from standard input.']);
    const dir = run(['replay', tmpdir()]);
    expect([dir.status, dir.stderr]).toEqual([66, `mesh-trace: Cannot read ${tmpdir()}: it is a directory.\n`]);
  });

  it('standard input redirected from a file is a file', () => {
    const r = spawnSync(process.execPath, [CLI, 'replay', '/dev/stdin', '--json'], { stdio: [openSync(FIXTURE, 'r'), 'pipe', 'pipe'], encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\{"type":"flow"/);
  });
});
