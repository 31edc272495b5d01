// `mesh-trace export --pcapng` live, ended with Ctrl-C as a user ends it: the flows traced
// until then are in the file, the file is complete and said so, and the exit code is 130.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTracing } from '../helpers/cli.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';
const tshark = (() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!!skip)('mesh-trace export, live, until Ctrl-C', () => {
  const net = new TestNet('mtk-exp-');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-export-'));
  afterAll(() => {
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the flows traced so far, says so, and exits 130', async () => {
    const a = net.ns('a');
    const b = net.ns('b');
    net.veth(a, 'eth0', b, 'eth0');
    net.addr(a, 'eth0', '10.78.0.1/24');
    net.addr(b, 'eth0', '10.78.0.2/24');
    const out = join(dir, 'live.pcapng');
    let refused = false;
    const { err, code } = await runTracing(['export', '--pcapng', out, '--port', '17173', '--flow-timeout', '60'], (child) => {
      // refused: a SYN and a RST, one flow still open when Ctrl-C comes (sent whatever
      // happens, so no tracer outlives the test)
      try {
        refused = net.tcpRefused(a, '10.78.0.2', 17173);
      } finally {
        child.kill('SIGINT');
      }
    });
    expect(refused).toBe(true);
    expect(code).toBe(130);
    const said = err.match(/^wrote (\d+) packets of 1 flow to (.+)$/m);
    expect(said?.[2]).toBe(out);
    expect(Number(said?.[1])).toBeGreaterThanOrEqual(2);
    // after the run's summary, as when export reads a file
    expect(err.search(/^1 flow from \d+ events; lost:/m)).toBeGreaterThanOrEqual(0);
    expect(err.search(/^wrote /m)).toBeGreaterThan(err.search(/^1 flow from /m));
    // a pcapng section header block
    expect(readFileSync(out).readUInt32LE(0)).toBe(0x0a0d0d0a);
    if (tshark) {
      const ports = execFileSync('tshark', ['-r', out, '-T', 'fields', '-e', 'tcp.dstport'], { encoding: 'utf8' }).trim().split('\n');
      expect(ports).toContain('17173');
      expect(ports).toHaveLength(Number(said?.[1]));
    }
  });

  it('with nothing traced, still leaves a complete (empty) pcapng and says so', async () => {
    const out = join(dir, 'quiet.pcapng');
    const { err, code } = await runTracing(['export', '--pcapng', out, '--port', '17174'], (child) => child.kill('SIGINT'));
    expect(code).toBe(130);
    expect(err).toMatch(new RegExp(`^wrote 0 packets of 0 flows to ${out.replace(/[.]/g, '\\.')}$`, 'm'));
    expect(existsSync(out)).toBe(true);
    if (tshark) expect(execFileSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).trim()).toBe('');
  });
});
