// The built command with its standard streams gone or failing, as pipes and devices really
// do it: a reader that left before the first write (`| head -c 0`: standard output alone,
// or both with 2>&1) stops it quietly with the exit code it would have had; /dev/full
// makes it say so once and exit 74. No stack trace, ever.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
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
