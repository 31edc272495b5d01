// Where the flows go when standard output goes away: `| head` closing the pipe ends the
// run quietly, a full disk is told in one sentence with exit code 74. The built CLI, as
// a user runs it, replaying a recording of the lab.
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const RECORDING = join(__dirname, '..', 'fixtures', 'lab-request.mtrace');

function replay(stdout: 'closed' | number): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [CLI, 'replay', RECORDING, '--json'], { stdio: ['ignore', stdout === 'closed' ? 'pipe' : stdout, 'pipe'] });
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
