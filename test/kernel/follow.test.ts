// Devices and namespaces that appear after the session started are attached, and traced.
import { afterAll, describe, expect, it } from 'vitest';
import { ProbeSession } from '../../src/probe/session.js';
import type { PacketEvent } from '../../src/events/decode.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';

async function until<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!!skip)('following the host as it changes', () => {
  const net = new TestNet('mtk-follow-');
  afterAll(() => net.destroy());

  it('attaches to a veth created after the start and to a new namespace', async () => {
    const events: PacketEvent[] = [];
    const s = await ProbeSession.open({ filter: { port: 17070 }, rescanMs: 200 });
    const drain = (async () => {
      for await (const b of s) events.push(...b.events());
    })();
    try {
      // both namespaces are new to the session: found by the rescan, then their devices
      const a = net.ns('a');
      const b = net.ns('b');
      await until(() => ([a, b].every((n) => s.namespaceInodes().includes(net.ref(n).inode)) ? true : undefined));
      net.veth(a, 'eth0', b, 'eth0');
      net.addr(a, 'eth0', '10.78.0.1/24');
      net.addr(b, 'eth0', '10.78.0.2/24');
      const inodeA = net.ref(a).inode;
      await until(() => (s.devices().some((d) => d.netns === inodeA && d.name === 'eth0') ? true : undefined));
      await s.settled();
      expect(net.tcpRefused(a, '10.78.0.2', 17070)).toBe(true);
      const seen = await until(() => events.find((e) => e.netns === inodeA && e.hookName === 'tc-egress' && e.outer?.dport === 17070));
      expect(seen.outer?.tcpFlags).toBe(0x02);
    } finally {
      await s.close();
      await drain;
    }
  });
});
