import { describe, expect, it } from 'vitest';
import { nativeError, verifierTail } from '../../src/probe/errors.js';

const verifierLog = `libbpf: prog 'mt_tc_ingress': BPF program load failed: Permission denied
libbpf: prog 'mt_tc_ingress': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
5: (85) call bpf_loop#181
R3 type=ctx expected=fp
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
-- END PROG LOAD LOG --
libbpf: failed to load object 'mesh_trace'`;

describe('native failures become one clear sentence', () => {
  it('verifier rejection, with the tail of its log', () => {
    const e = nativeError({ ok: false, code: 'EACCES', errno: 13, op: 'load', message: 'the kernel refused to load the BPF programs', log: verifierLog });
    expect(e.code).toBe('VERIFIER');
    expect(e.message).toBe("The kernel's verifier rejected a BPF program.");
    expect(e.detail).toMatch(/R3 type=ctx expected=fp/);
    expect(e.exitCode).toBe(71);
  });
  it('no privileges', () => {
    const e = nativeError({ ok: false, code: 'EPERM', errno: 1, op: 'load', message: 'Operation not permitted' });
    expect(e.code).toBe('EPERM');
    expect(e.message).toMatch(/needs root, or CAP_BPF/);
    expect(e.exitCode).toBe(77);
  });
  it('a device that vanished mid-attach', () => {
    const e = nativeError({ ok: false, code: 'ENODEV', errno: 19, op: 'attach tcx', message: 'No such device' }, 'veth12 in node1');
    expect(e.code).toBe('DEVICE_GONE');
    expect(e.message).toBe('The device vanished while mesh-trace attached to it (veth12 in node1).');
  });
  it('a namespace that cannot be entered', () => {
    const e = nativeError({ ok: false, code: 'ENOENT', errno: 2, op: 'setns', message: 'cannot open network namespace /run/netns/x' }, 'namespace x');
    expect(e.code).toBe('NETNS');
    expect(e.hint).toMatch(/gone/);
  });
  it('keeps only the end of a long verifier log', () => {
    const long = `-- BEGIN PROG LOAD LOG --\n${Array.from({ length: 500 }, (_, i) => `${i}: insn`).join('\n')}\n-- END PROG LOAD LOG --`;
    expect(verifierTail(long, 3)!.split('\n')).toEqual(['498: insn', '499: insn', '-- END PROG LOAD LOG --']);
  });
});
