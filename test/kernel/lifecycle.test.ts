// Nothing left behind: after close(), SIGINT, SIGTERM and SIGKILL the kernel holds no link
// or filter of ours; legacy clsact filters that a SIGKILL leaves are removed by the next
// start. Counted with bpftool and tc, not with mesh-trace's own bookkeeping.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeSession } from '../../src/probe/session.js';
import { expectedLinks } from './helpers/expected-links.js';
import { isRoot, run, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';
const fixture = join(__dirname, 'fixtures', 'hold-session.mjs');
/** under emulation (test:kernels' guests) a session takes many times longer to start */
const slow = process.env.MESH_TRACE_VM ? 15 : 1;

/** BPF links whose program is one of ours */
function ourLinks(): number {
  const progs = new Map((JSON.parse(run(['bpftool', 'prog', 'list', '-j'])) as { id: number; name?: string }[]).map((p) => [p.id, p.name ?? '']));
  const links = JSON.parse(run(['bpftool', 'link', 'list', '-j'])) as { prog_id: number }[];
  return links.filter((l) => progs.get(l.prog_id)?.startsWith('mt_')).length;
}

/** tc filters of ours (legacy rung) on the test's devices */
function ourFilters(net: TestNet): number {
  let n = 0;
  for (const [ns, dev] of [[net.namespaces[0], 'eth0'], [net.namespaces[1], 'eth0']]) {
    for (const dir of ['ingress', 'egress']) {
      const out = run(['ip', 'netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', dev, dir]);
      n += (out.match(/handle 0x6d74 mt_tc_/g) ?? []).length;
    }
  }
  return n;
}

async function holdThenSignal(opts: object, signal: NodeJS.Signals): Promise<{ linksWhileUp: number; rungs: Record<string, string>; code: number | null }> {
  const child = spawn(process.execPath, [fixture, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // the fixture prints "ready <links> <rungs as JSON>" once attached
  const ready = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`session did not start: ${stderr}`)), 20000 * slow);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) (clearTimeout(t), resolve(out));
    });
    child.on('exit', () => reject(new Error(`session exited early: ${stderr}`)));
  });
  const rungs = JSON.parse(ready.slice(ready.indexOf('{'))) as Record<string, string>;
  const linksWhileUp = ourLinks();
  child.kill(signal);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { linksWhileUp, rungs, code };
}

describe.skipIf(!!skip)('nothing is left in the kernel', () => {
  const net = new TestNet('mtk-life-');
  let opts: { namespaces: ReturnType<TestNet['refs']>; filter: { port: number } };

  beforeAll(() => {
    const a = net.ns('a');
    const b = net.ns('b');
    net.veth(a, 'eth0', b, 'eth0');
    // netfilter links go only where netfilter has rules: a gets a table, b none
    net.in(a, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '4243', '-j', 'ACCEPT']);
    opts = { namespaces: net.refs(), filter: { port: 4242 } };
    expect(ourLinks()).toBe(0);
  });
  afterAll(() => net.destroy());

  it('after close()', async () => {
    const s = await ProbeSession.open({ ...opts, follow: false });
    try {
      // here (6.18): 4 tracepoints + 1 netns with rules x 14 netfilter links + 2 devices x 2 tcx links;
      // other kernels add fentry/kprobe links or lack netfilter links and tcx
      const want = expectedLinks(s.rungs(), 1, 2);
      expect(want.links).toBeGreaterThan(0);
      expect(ourLinks()).toBe(want.links);
      expect(ourFilters(net)).toBe(want.filters);
      expect(s.linkCount()).toBe(want.links + want.filters);
    } finally {
      await s.close();
    }
    await s.close(); // idempotent
    expect(ourLinks()).toBe(0);
    expect(ourFilters(net)).toBe(0);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`after ${signal}, exiting ${code}`, async () => {
      const r = await holdThenSignal(opts, signal);
      expect(r.linksWhileUp).toBe(expectedLinks(r.rungs, 1, 2).links);
      expect(r.code).toBe(code);
      expect(ourLinks()).toBe(0);
      expect(ourFilters(net)).toBe(0);
    });
  }

  it('after SIGKILL (every link is owned by a file descriptor)', async () => {
    // on kernels without tcx the devices get clsact filters, which only the next start removes
    const r = await holdThenSignal(opts, 'SIGKILL');
    expect(r.linksWhileUp).toBe(expectedLinks(r.rungs, 1, 2).links);
    expect(ourLinks()).toBe(0);
    expect(ourFilters(net)).toBe(expectedLinks(r.rungs, 1, 2).filters);
    await (await ProbeSession.open({ ...opts, follow: false })).close();
    expect(ourFilters(net)).toBe(0);
  });

  it('legacy clsact filters: removed on SIGTERM, and after SIGKILL by the next start', async () => {
    const clsact = { ...opts, disabledRungs: ['tcx'] };
    await holdThenSignal(clsact, 'SIGTERM');
    expect(ourFilters(net)).toBe(0);

    await holdThenSignal(clsact, 'SIGKILL');
    expect(ourFilters(net)).toBe(4); // what a killed process cannot remove
    const next = await ProbeSession.open({ ...opts, follow: false });
    // the killed process's filters are gone; where clsact is the ladder's rung (no tcx
    // before 6.6) the ones there are the new session's own
    expect(ourFilters(net)).toBe(expectedLinks(next.rungs(), 1, 2).filters);
    await next.close();
    expect(ourFilters(net)).toBe(0);
    expect(ourLinks()).toBe(0);
  });
});
