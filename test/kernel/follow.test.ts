// Devices and namespaces that appear after the session started are attached, and traced.
import { afterAll, describe, expect, it } from 'vitest';
import { NETFILTER_LINKS_PER_NETNS, ProbeSession } from '../../src/probe/session.js';
import type { PacketEvent } from '../../src/events/decode.js';
import { expectedLinks } from './helpers/expected-links.js';
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

  it('gives a namespace netfilter links once netfilter rules appear in it', async () => {
    const a = net.ns('nfa');
    const b = net.ns('nfb');
    net.veth(a, 'eth0', b, 'eth0');
    net.addr(a, 'eth0', '10.78.1.1/24');
    net.addr(b, 'eth0', '10.78.1.2/24');
    const events: PacketEvent[] = [];
    const s = await ProbeSession.open({ filter: { port: 17071 }, namespaces: [net.ref(a), net.ref(b)], netfilterRecheckMs: 200 });
    const drain = (async () => {
      for await (const b of s) events.push(...b.events());
    })();
    try {
      const before = s.linkCount();
      const nf = s.rungs().nat === 'netfilter';
      // no rules anywhere: no netfilter links, whatever the kernel offers
      const none = expectedLinks(s.rungs(), 0, 2);
      expect(before).toBe(none.links + none.filters);
      net.in(a, ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '17071', '-j', 'DNAT', '--to-destination', '10.78.1.2:17072']);
      if (!nf) return; // kernels before 6.4: the rewrite is named from the device hooks
      await until(() => (s.linkCount() === before + NETFILTER_LINKS_PER_NETNS ? true : undefined));
      await s.settled();
      expect(net.tcpRefused(a, '10.78.1.2', 17071)).toBe(true);
      const inodeA = net.ref(a).inode;
      // the DNAT is seen between the two OUTPUT links: before with the old port, after with the new
      const after = await until(() => events.find((e) => e.netns === inodeA && e.hookName === 'netfilter' && e.outer?.dport === 17072));
      expect(events.some((e) => e.skb === after.skb && e.hookName === 'netfilter' && e.outer?.dport === 17071)).toBe(true);
    } finally {
      await s.close();
      await drain;
    }
  });
});
