// Boots real Debian kernels under qemu (tens of seconds each, downloads on first use), so it
// runs only when asked: MESH_TRACE_VM_TESTS=1 npx vitest run test/vm/boot.test.ts (as root).
// `npm test` skips it at once.
import { describe, expect, it } from 'vitest';
import { runInVm } from './lib.mjs';

const wanted = process.env.MESH_TRACE_VM_TESTS === '1';
const skip = !wanted ? 'set MESH_TRACE_VM_TESTS=1 to boot guests' : process.geteuid?.() !== 0 ? 'needs root' : '';

describe.skipIf(!!skip)('VM runner', () => {
  for (const kernel of ['6.1', '6.12']) {
    it(`boots ${kernel}, runs one command and hands back stdout, stderr and the exit code`, async () => {
      const script = [
        'uname -r',
        'cat /sys/kernel/security/lockdown',
        'test -e /sys/kernel/btf/vmlinux && echo btf',
        'for m in /sys/fs/bpf /proc /sys /dev /run /tmp; do mountpoint -q $m && echo mounted $m; done',
        'modprobe -a ip_vs ip_vs_rr vxlan br_netfilter veth && echo modules',
        'ip netns add vmt && ip -n vmt link set lo up && ip netns exec vmt ping -c1 -W2 127.0.0.1 >/dev/null && echo netns',
        'ipvsadm -A -f 1 -s rr && ipvsadm -ln | grep -q "FWM  1 rr" && echo ipvs',
        'node -e "console.log(\'node \' + process.version)"',
        'echo to-stderr >&2',
        'exit 7',
      ].join('\n');
      const r = await runInVm({ kernel, argv: ['sh', '-c', script], timeoutS: 300 });
      r.cleanup();
      expect(r.error).toBeNull();
      expect(r.exitCode).toBe(7);
      expect(r.stdout).toMatch(new RegExp(`^${kernel.replace('.', '\\.')}[.-]`));
      expect(r.stdout).toContain('[none]');
      for (const w of ['btf', 'modules', 'netns', 'ipvs', 'node v']) expect(r.stdout).toContain(w);
      for (const m of ['/sys/fs/bpf', '/proc', '/sys', '/dev', '/run', '/tmp']) expect(r.stdout).toContain(`mounted ${m}`);
      expect(r.stderr).toBe('to-stderr\n');
      expect(r.bootMs).toBeGreaterThan(0);
    }, 360_000);
  }

  it('kills qemu at the timeout and says so', async () => {
    const r = await runInVm({ kernel: '6.1', argv: ['sleep', '600'], timeoutS: 20 });
    r.cleanup();
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.error).toMatch(/did not finish within 20 s/);
  }, 120_000);
});
