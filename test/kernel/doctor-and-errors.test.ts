// `mesh-trace doctor --json` on the real kernel, and the one-sentence errors a user gets
// when tracing cannot start or part of it cannot attach.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOOK_POINTS } from '../../src/probe/hook-points.js';
import { ProbeSession } from '../../src/probe/session.js';
import type { MeshTraceError } from '../../src/errors.js';
import { isRoot } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they load BPF programs)' : '';
const cli = join(__dirname, '..', '..', 'bin', 'mesh-trace.js');

/**
 * The rungs the ladder must pick on a kernel, from what each mechanism needs: tcx links
 * 6.6, the kfuncs of btf_hooks.bpf.c 6.3 (before that the kfunc-free twins load),
 * netfilter links 6.4; fentry where the kernel is not locked down (this 6.18 host refuses
 * it and has no kprobes, KERNEL.md), ip_vs hooks only with the module loaded.
 */
function expectedRungs(kernel: { release: string; lockdown: string; ipvsLoaded: boolean }) {
  const [major, minor] = kernel.release.split(/[.-]/).map(Number);
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  const fn = kernel.lockdown === 'none' ? 'fentry' : 'derived';
  return {
    device: atLeast(6, 6) ? 'tcx' : 'clsact',
    reads: atLeast(6, 3) ? 'btf' : 'probe',
    nat: atLeast(6, 4) ? 'netfilter' : 'derived',
    fn,
    ipvs: kernel.ipvsLoaded ? (fn === 'derived' ? null : fn) : null,
  };
}

describe.skipIf(!!skip)('mesh-trace doctor', () => {
  it('lists every hook point with its rung or the reason none works', () => {
    const r = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.canTrace).toBe(true);
    expect(report.hooks.map((h: { hook: string }) => h.hook)).toEqual(HOOK_POINTS.map((h) => h.id));
    for (const h of report.hooks) {
      // a hook has a rung, or every rung it skipped says why
      if (h.rung === null) expect(h.skipped.length).toBeGreaterThan(0);
      for (const s of h.skipped) expect(s.reason).toMatch(/\w{4,}/);
    }
    const byHook = Object.fromEntries(report.hooks.map((h: { hook: string }) => [h.hook, h]));
    // what KERNEL.md says of this machine's kernel (and test/vm's guests of theirs), seen by the tool itself
    const want = expectedRungs(report.kernel);
    expect(byHook['device-ingress']).toMatchObject({ rung: want.device, reads: want.reads });
    expect(byHook['drop']).toMatchObject({ rung: 'tp_btf', reads: want.reads });
    // tc on the same device sees what the device tracepoints would, one program less a frame
    for (const dev of ['device-xmit', 'device-recv']) expect(byHook[dev].rung, dev).toBe('derived');
    expect(byHook['nat'].rung).toBe(want.nat);
    for (const fn of ['veth-xmit', 'bridge-in', 'bridge-forward', 'vxlan-encap', 'vxlan-decap']) expect(byHook[fn].rung, fn).toBe(want.fn);
    expect(byHook['ipvs-nat-xmit'].rung).toBe(want.ipvs);
    if (!report.kernel.ipvsLoaded) expect(byHook['ipvs-nat-xmit'].skipped[0].reason).toMatch(/ip_vs module is not loaded/);
  });

  it('prints a readable table on a terminal-less stdout', () => {
    const r = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^kernel\s+\S+/m);
    const want = expectedRungs(JSON.parse(spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8' }).stdout).kernel);
    expect(r.stdout).toMatch(new RegExp(`^device-ingress\\s+${want.device}${want.reads === 'probe' ? ' \\(without kfuncs\\)' : ''}$`, 'm'));
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colour on a pipe
  });

  it('says one sentence and exits 77 without privileges', () => {
    const r = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', uid: 65534, gid: 65534 });
    expect(r.status).toBe(77);
    expect(r.stdout).toMatch(/cannot trace here: not root/);
  });
});

describe.skipIf(!!skip)('errors that do not stop a session', () => {
  it('a namespace that cannot be entered is reported, and the rest is traced', async () => {
    const warnings: MeshTraceError[] = [];
    const s = await ProbeSession.open({
      namespaces: [{ inode: 1, path: '/proc/self/ns/net-not-there', names: ['ghost'], source: 'netns' }],
      filter: { port: 9 },
      follow: false,
      onWarning: (w) => warnings.push(w),
    });
    await s.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0].code).toBe('NETNS');
    expect(warnings[0].message).toMatch(/^Cannot enter namespace ghost: cannot open network namespace \/proc\/self\/ns\/net-not-there: No such file or directory\.$/);
  });
});
