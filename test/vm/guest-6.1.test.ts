// CI's look at another kernel, inside `npm test`: this machine's kernel (6.18, locked down)
// has no kprobes, no usable fentry, no IPVS and kfuncs that 6.1 lacks, so the rungs that
// only other kernels take would go untested. This boots Debian's 6.1 under qemu (about
// 4 s, then 10-45x slower than here) and runs a focused part of the kernel tier in it: the
// doctor's rungs, the exact path (kfunc-free tc and tracepoints, fentry, derived NAT), the
// fentry/kprobe equivalence, the lab's IPVS flow and Docker's real routing mesh (dockerd,
// swarm, a published port). A few minutes; the whole matrix is
// `npm run test:kernels`. Skipped inside a guest (no nesting) and with MESH_TRACE_SKIP_VM=1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(__dirname, '..', '..');
export const CI_GUEST_TESTS = [
  'test/kernel/doctor-and-errors.test.ts',
  'test/kernel/path.test.ts',
  'test/kernel/function-hooks.test.ts',
  'test/kernel/ipvs-lab.test.ts',
  'test/docker/routing-mesh.test.ts',
];

const skip = process.env.MESH_TRACE_VM
  ? 'already inside a test/vm guest'
  : process.geteuid?.() !== 0
    ? 'needs root (boots a qemu guest and loads BPF programs in it)'
    : process.env.MESH_TRACE_SKIP_VM === '1'
      ? 'MESH_TRACE_SKIP_VM=1'
      : '';

describe.skipIf(!!skip)(`the kernel tier in a Debian 6.1 guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('passes, with the 6.1 rungs: clsact and tracepoints without kfuncs, fentry, derived NAT, IPVS', async () => {
    const dir = mkdtempSync('/var/tmp/mesh-trace-ci-');
    const out = join(dir, 'compat.md');
    try {
      const args = ['test/vm/kernels.mjs', '--kernels', '6.1', '--no-host', '--tests', CI_GUEST_TESTS.join(','), '--out', out, '--timeout', '840'];
      const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code, log.slice(-4000)).toBe(0);
      const md = readFileSync(out, 'utf8');
      const row = (hook: string) => md.split('\n').find((l) => l.startsWith(`| ${hook} |`));
      expect(row('kernel')).toMatch(/\| 6\.1\.\d+-\d+-amd64 \|/);
      expect(row('device-ingress')).toBe('| device-ingress | clsact (without kfuncs) |');
      expect(row('drop')).toBe('| drop | tp_btf (without kfuncs) |');
      expect(row('nat')).toBe('| nat | derived |');
      for (const fn of ['veth-xmit', 'bridge-in', 'bridge-forward', 'vxlan-encap', 'vxlan-decap', 'ipvs-schedule', 'ipvs-nat-xmit']) expect(row(fn)).toBe(`| ${fn} | fentry |`);
      // every test of the subset ran there and passed: none skipped, none failed
      expect(md).not.toMatch(/\| [✗–] \|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
