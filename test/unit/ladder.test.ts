// The attach ladder over simulated kernels: which rung wins, and that every skipped rung
// keeps its reason. (The real kernel's answers are covered by `doctor` in test/kernel.)
import { describe, expect, it } from 'vitest';
import type { KernelFacts } from '../../src/probe/capabilities.js';
import { capNames, hasTracingPrivileges, readCapEff } from '../../src/probe/capabilities.js';
import { HOOK_POINTS, hookPoint } from '../../src/probe/hook-points.js';
import { chooseAll, chooseRung, type RungProbe } from '../../src/probe/ladder.js';
import { telling } from '../../src/probe/rung-probe.js';
import { parseForcedRungs } from '../../src/cli/rung-options.js';

const facts = (over: Partial<KernelFacts> = {}): KernelFacts => ({
  release: '6.1.0-test',
  btf: true,
  lockdown: 'none',
  euid: 0,
  caps: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_PERFMON', 'CAP_BPF'],
  privileged: true,
  ipvsLoaded: false,
  moduleBtf: [],
  ...over,
});

/** a kernel where the listed rung kinds fail with the given reason */
const kernel = (fails: Record<string, string>): RungProbe => (rung) => fails[rung.kind];

describe('the attach ladder', () => {
  it('takes fentry where the kernel allows it (Debian 6.1)', () => {
    const c = chooseRung(hookPoint('veth-xmit')!, facts(), kernel({}));
    expect(c.chosen?.kind).toBe('fentry');
    expect(c.outcomes).toEqual([{ kind: 'fentry', ok: true }]);
  });

  it('falls back to kprobe when fentry is refused, keeping the reason', () => {
    const c = chooseRung(hookPoint('vxlan-encap')!, facts(), kernel({ fentry: 'load: Operation not permitted (EPERM)' }));
    expect(c.chosen?.kind).toBe('kprobe');
    expect(c.outcomes[0]).toEqual({ kind: 'fentry', ok: false, reason: 'load: Operation not permitted (EPERM)' });
  });

  it('falls back to what the device hooks show when neither works (this machine)', () => {
    const c = chooseRung(hookPoint('bridge-forward')!, facts(), kernel({ fentry: 'EPERM', kprobe: 'no kprobe PMU' }));
    expect(c.chosen?.kind).toBe('derived');
    expect(c.chosen?.via).toMatch(/tc/);
    expect(c.outcomes.map((o) => o.reason)).toEqual(['EPERM', 'no kprobe PMU', undefined]);
  });

  it('skips IPVS rungs without probing when ip_vs is not loaded, and says so', () => {
    let probed = 0;
    const c = chooseRung(hookPoint('ipvs-nat-xmit')!, facts(), () => (probed++, undefined));
    expect(probed).toBe(0);
    expect(c.chosen).toBeUndefined();
    expect(c.outcomes.every((o) => /ip_vs module is not loaded/.test(o.reason!))).toBe(true);
    expect(chooseRung(hookPoint('ipvs-nat-xmit')!, facts({ ipvsLoaded: true }), kernel({})).chosen?.kind).toBe('fentry');
  });

  it('uses clsact where tcx does not exist (kernels before 6.6)', () => {
    const c = chooseRung(hookPoint('device-ingress')!, facts(), kernel({ tcx: 'attach tcx: Invalid argument (EINVAL)' }));
    expect(c.chosen?.kind).toBe('clsact');
    expect(c.chosen?.programs).toEqual(['mt_tc_ingress']);
  });

  it('honours rungs switched off, globally or for one hook', () => {
    expect(chooseRung(hookPoint('veth-xmit')!, facts(), kernel({}), { disabled: ['fentry'] }).chosen?.kind).toBe('kprobe');
    const all = chooseAll(HOOK_POINTS, facts(), kernel({}), { disabled: ['veth-xmit:fentry'] });
    expect(all.find((c) => c.hook === 'veth-xmit')?.chosen?.kind).toBe('kprobe');
    expect(all.find((c) => c.hook === 'vxlan-decap')?.chosen?.kind).toBe('fentry');
  });

  it('probes each program once however many hooks share it', () => {
    const seen: string[] = [];
    chooseAll(HOOK_POINTS, facts(), (r) => (seen.push(r.programs.join()), undefined));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('leaves the device tracepoints to tc where tc has a rung, and takes them where it has none', () => {
    const all = chooseAll(HOOK_POINTS, facts(), kernel({}));
    expect(all.find((c) => c.hook === 'device-xmit')?.chosen).toMatchObject({ kind: 'derived', programs: [] });
    expect(all.find((c) => c.hook === 'device-recv')?.chosen).toMatchObject({ kind: 'derived', programs: [] });
    const noTc = chooseAll(HOOK_POINTS, facts(), kernel({ tcx: 'no tcx', clsact: 'no clsact' }));
    expect(noTc.find((c) => c.hook === 'device-xmit')?.chosen?.kind).toBe('tp_btf');
    expect(noTc.find((c) => c.hook === 'device-xmit')?.outcomes[0]).toEqual({ kind: 'derived', ok: false, reason: 'device-egress has no rung here' });
    const forced = chooseAll(HOOK_POINTS, facts(), kernel({}), { forced: { 'device-recv': 'tp_btf' } });
    expect(forced.find((c) => c.hook === 'device-recv')?.chosen?.kind).toBe('tp_btf');
    expect(forced.find((c) => c.hook === 'device-xmit')?.chosen?.kind).toBe('derived');
  });

  it('leaves no hook without an outcome', () => {
    const all = chooseAll(HOOK_POINTS, facts(), kernel({ fentry: 'x', kprobe: 'y', tcx: 'z', clsact: 'w', netfilter: 'v', tp_btf: 'u' }));
    for (const c of all) expect(c.outcomes.length).toBeGreaterThan(0);
    expect(all.find((c) => c.hook === 'nat')?.chosen?.kind).toBe('derived');
    expect(all.find((c) => c.hook === 'device-ingress')?.chosen).toBeUndefined();
  });
});

describe('privileges and kernel messages', () => {
  it('reads effective capabilities from /proc/self/status', () => {
    const root = readCapEff('Name:\tnode\nCapEff:\t000001ffffffffff\n');
    expect(capNames(root)).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_PERFMON', 'CAP_BPF']);
    expect(hasTracingPrivileges(capNames(root))).toBe(true);
    expect(hasTracingPrivileges(capNames(readCapEff('CapEff:\t0000000000000000\n')))).toBe(false);
  });
  it("keeps libbpf's most telling line", () => {
    const log = "libbpf: prog 'mt_fentry_ip_vs_nat_xmit': failed to find kernel BTF type ID of 'ip_vs_nat_xmit': -3\nlibbpf: prog 'x': failed to load: -3\nlibbpf: failed to load object 'mesh_trace'\n";
    expect(telling(log)).toBe("failed to find kernel BTF type ID of 'ip_vs_nat_xmit': -3");
  });

  it('loads the kfunc-free twin where the kfuncs are missing (kernels before 6.3), and says why', () => {
    const probe: RungProbe = (r) => (r.programs[0].endsWith('_pr') ? undefined : "extern (func ksym) 'bpf_cast_to_kern_ctx': not found");
    const c = chooseRung(hookPoint('device-ingress')!, facts(), probe);
    expect(c.chosen).toMatchObject({ kind: 'tcx', programs: ['mt_tc_ingress_pr'], reads: 'probe' });
    expect(c.outcomes).toEqual([{ kind: 'tcx', ok: true, note: expect.stringMatching(/kfunc programs do not load .*: extern \(func ksym\) 'bpf_cast_to_kern_ctx': not found$/) }]);
    expect(chooseRung(hookPoint('drop')!, facts(), probe).chosen?.programs).toEqual(['mt_tp_drop_pr']);
  });

  it('keeps the kfunc programs where they load, and both reasons when neither does', () => {
    expect(chooseRung(hookPoint('consume')!, facts(), kernel({})).chosen).toMatchObject({ programs: ['mt_tp_consume'], reads: 'btf' });
    const c = chooseRung(hookPoint('device-egress')!, facts(), (r) => (r.kind === 'tcx' ? `no tcx ${r.programs[0]}` : undefined));
    expect(c.chosen).toMatchObject({ kind: 'clsact', programs: ['mt_tc_egress'] });
    expect(c.outcomes[0].reason).toBe('no tcx mt_tc_egress; without kfuncs: no tcx mt_tc_egress_pr');
  });

  it('forces one rung for a hook (--rung veth-xmit=kprobe), and gives none when it fails', () => {
    const c = chooseRung(hookPoint('veth-xmit')!, facts(), kernel({}), { forced: { 'veth-xmit': 'kprobe' } });
    expect(c.chosen?.kind).toBe('kprobe');
    expect(c.outcomes[0]).toEqual({ kind: 'fentry', ok: false, reason: 'switched off by --rung veth-xmit=kprobe' });
    const none = chooseRung(hookPoint('veth-xmit')!, facts(), kernel({ kprobe: 'no kprobes' }), { forced: { 'veth-xmit': 'kprobe' } });
    expect(none.chosen).toBeUndefined();
    expect(none.outcomes.map((o) => o.kind)).toEqual(['fentry', 'kprobe', 'derived']);
    expect(chooseRung(hookPoint('bridge-in')!, facts(), kernel({}), { forced: { 'veth-xmit': 'kprobe' } }).chosen?.kind).toBe('fentry');
  });
});

describe('--rung HOOK=RUNG', () => {
  it('maps each pair to its hook, the last one winning', () => {
    expect(parseForcedRungs(['veth-xmit=kprobe', 'bridge-in=fentry', 'veth-xmit=derived'])).toEqual({ 'veth-xmit': 'derived', 'bridge-in': 'fentry' });
  });

  it('refuses an unknown hook, a rung the hook does not have, and a malformed pair', () => {
    expect(() => parseForcedRungs(['veth=kprobe'])).toThrow(/known hook point/);
    expect(() => parseForcedRungs(['device-xmit=kprobe'])).toThrow(/device-xmit has no rung "kprobe"/);
    expect(() => parseForcedRungs(['veth-xmit'])).toThrow(/HOOK=RUNG/);
  });
});
