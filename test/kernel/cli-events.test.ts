// `mesh-trace events --json` as a user runs it: NDJSON lines, names from the topology,
// --count honoured, the summary and exit code at the end.
import { afterAll, describe, expect, it } from 'vitest';
import { runTracing } from '../helpers/cli.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';

describe.skipIf(!!skip)('mesh-trace events', () => {
  const net = new TestNet('mtk-cli-');
  afterAll(() => net.destroy());

  it('prints one JSON object per hop event and stops after --count', async () => {
    const a = net.ns('a');
    const b = net.ns('b');
    net.veth(a, 'eth0', b, 'eth0');
    net.addr(a, 'eth0', '10.79.0.1/24');
    net.addr(b, 'eth0', '10.79.0.2/24');
    const { out, err, code } = await runTracing(['events', '--port', '17171', '--json', '--count', '4'], () => net.tcpRefused(a, '10.79.0.2', 17171));
    expect(err).toMatch(/^tracing \d+ devices in \d+ namespaces \(port 17171\); Ctrl-C to stop$/m);
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    // a has no netfilter rules, so no netfilter links either (whatever the kernel offers):
    // the SYN is first seen leaving eth0
    expect(lines[0]).toMatchObject({ hook: 'tc-egress', where: expect.stringContaining('eth0'), outer: { daddr: '10.79.0.2', dport: 17171, tcpFlags: 2 } });
    // the SYN's skb (through veth_xmit where fentry/kprobes exist), entering b, then its end
    // there (no socket), and the RST coming back: tc on each veth end sees each frame once
    // (the device tracepoints are left to tc)
    const syn = lines.filter((l) => l.skb === lines[0].skb).map((l) => l.hook);
    expect(syn.filter((h) => h.startsWith('tc-')).slice(0, 2)).toEqual(['tc-egress', 'tc-ingress']);
    for (const l of lines) expect(l.skb === lines[0].skb || (l.outer.sport === 17171 && (l.outer.tcpFlags & 0x04) !== 0)).toBe(true);
    expect(err).toMatch(/^4 events; lost: ring 0, queue 0;/m);
  });
});
