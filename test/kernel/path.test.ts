// Done-when of the probe engine: two namespaces joined by a veth pair, a bridge and a
// VXLAN tunnel; TCP to one port; the exact (namespace, device, hook) sequence for the SYN,
// the SYN-ACK and the data; nothing for traffic to another port.
//
//   client ──veth── nodeA[ b0 ─ br0 ─ vx0 (VNI 42) ] ══ underlay veth ══ nodeB[ vx0 ─ br0 ─ b1 ] ──veth── server
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeSession } from '../../src/probe/session.js';
import type { PacketEvent } from '../../src/events/decode.js';
import { decodeNfAux, nfHookName } from '../../src/events/hooks.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const PORT = 18080;
const OTHER_PORT = 18081;
const SYN = 0x02, ACK = 0x10, PSH = 0x08;

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';

describe.skipIf(!!skip)('a TCP connection across veth, bridge and VXLAN', () => {
  const net = new TestNet('mtk-path-');
  let events: PacketEvent[] = [];
  let names: Map<string, string>;
  let reply = '';
  let refused = false;

  beforeAll(async () => {
    const client = net.ns('client');
    const nodeA = net.ns('nodeA');
    const nodeB = net.ns('nodeB');
    const server = net.ns('server');
    net.veth(client, 'eth0', nodeA, 'b0');
    net.veth(server, 'eth0', nodeB, 'b1');
    net.veth(nodeA, 'u0', nodeB, 'u0');
    net.addr(nodeA, 'u0', '192.168.77.1/24');
    net.addr(nodeB, 'u0', '192.168.77.2/24');
    for (const [ns, port, local, remote] of [[nodeA, 'b0', '192.168.77.1', '192.168.77.2'], [nodeB, 'b1', '192.168.77.2', '192.168.77.1']]) {
      net.in(ns, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      net.in(ns, ['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', local, 'remote', remote, 'dev', 'u0']);
      for (const d of ['br0', 'vx0']) net.in(ns, ['ip', 'link', 'set', d, 'up']);
      net.in(ns, ['ip', 'link', 'set', 'vx0', 'master', 'br0']);
      net.in(ns, ['ip', 'link', 'set', port, 'master', 'br0']);
      // bridged IPv4 crosses iptables (br_netfilter), as on every Docker host
      net.in(ns, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
    }
    net.addr(client, 'eth0', '10.77.0.1/24');
    net.addr(server, 'eth0', '10.77.0.2/24');
    // resolve MACs first: ARP is not what this test is about
    net.in(client, ['ping', '-c1', '-W2', '10.77.0.2']);
    names = net.deviceNames();

    const session = await ProbeSession.open({ filter: { port: PORT }, namespaces: net.refs(), follow: false });
    const srv = net.tcpServer(server, '10.77.0.2', PORT);
    await net.ready(srv);
    reply = net.tcpRequest(client, '10.77.0.2', PORT);
    refused = net.tcpRefused(client, '10.77.0.2', OTHER_PORT);
    await new Promise((r) => setTimeout(r, 100));
    const done = session.close();
    for await (const b of session) events.push(...b.events());
    await done;
  });

  afterAll(() => net.destroy());

  const where = (e: PacketEvent) => {
    const dev = names.get(`${e.netns}:${e.ifindex}`) ?? `?${e.netns}:${e.ifindex}`;
    if (e.hookName === 'netfilter') {
      const nf = decodeNfAux(e.aux);
      return `${dev} nf:${nfHookName[nf.hooknum]}:${nf.stage}`;
    }
    return `${dev} ${e.hookName}`;
  };
  const segment = (e: PacketEvent) => e.inner ?? e.outer;
  /** the hops of the first packet of the connection with exactly these TCP flags: the
   * events of its skb from there on, while they carry the same segment (a freed skb's
   * address is soon reused by another packet) */
  const pathOf = (flags: number, fromClient: boolean) => {
    const i = events.findIndex((e) => {
      const h = segment(e);
      return h && h.l4 && h.tcpFlags === flags && (fromClient ? h.dport === PORT : h.sport === PORT);
    });
    expect(i, `a packet with TCP flags ${flags}`).toBeGreaterThanOrEqual(0);
    const first = events[i];
    const path: PacketEvent[] = [];
    for (const e of events.slice(i)) {
      if (e.skb !== first.skb || e.hookName === 'consume') continue;
      const h = segment(e);
      if (!h || h.tcpFlags !== flags || h.tcpSeq !== segment(first)!.tcpSeq) break;
      path.push(e);
    }
    return path.map(where);
  };

  it('carries the request and the answer', () => {
    expect(reply).toBe('pong');
    expect(refused).toBe(true);
  });

  const clientOut = ['client/eth0 nf:OUTPUT:before', 'client/eth0 nf:OUTPUT:after', 'client/eth0 nf:POSTROUTING:before', 'client/eth0 nf:POSTROUTING:after', 'client/eth0 tc-egress', 'client/eth0 xmit'];
  const aToB = [
    'nodeA/b0 recv', 'nodeA/b0 tc-ingress',
    'nodeA/br0 nf:PREROUTING:before', 'nodeA/br0 nf:PREROUTING:after', 'nodeA/br0 nf:POSTROUTING:before', 'nodeA/br0 nf:POSTROUTING:after',
    'nodeA/vx0 tc-egress', 'nodeA/vx0 xmit',
    // the same skb, now VXLAN-encapsulated, leaves through the underlay
    'nodeA/u0 nf:OUTPUT:before', 'nodeA/u0 nf:OUTPUT:after', 'nodeA/u0 nf:POSTROUTING:before', 'nodeA/u0 nf:POSTROUTING:after',
    'nodeA/u0 tc-egress', 'nodeA/u0 xmit',
    'nodeB/u0 recv', 'nodeB/u0 tc-ingress', 'nodeB/u0 nf:PREROUTING:before', 'nodeB/u0 nf:PREROUTING:after', 'nodeB/u0 nf:INPUT:after',
    'nodeB/vx0 recv', 'nodeB/vx0 tc-ingress',
    'nodeB/br0 nf:PREROUTING:before', 'nodeB/br0 nf:PREROUTING:after', 'nodeB/br0 nf:POSTROUTING:before', 'nodeB/br0 nf:POSTROUTING:after',
    'nodeB/b1 tc-egress', 'nodeB/b1 xmit',
  ];
  const serverIn = ['server/eth0 recv', 'server/eth0 tc-ingress', 'server/eth0 nf:PREROUTING:before', 'server/eth0 nf:PREROUTING:after', 'server/eth0 nf:INPUT:after'];

  it('sees the SYN at every hop, in order', () => {
    expect(pathOf(SYN, true)).toEqual([...clientOut, ...aToB, ...serverIn]);
  });

  it('sees the SYN-ACK come back the same way', () => {
    const back = (s: string) => s.replace('client/', 'X/').replace('server/', 'client/').replace('X/', 'server/');
    const flip = (s: string) => s.replace('nodeA/', 'Y/').replace('nodeB/', 'nodeA/').replace('Y/', 'nodeB/').replace('/b0', '/bX').replace('/b1', '/b0').replace('/bX', '/b1');
    expect(pathOf(SYN | ACK, false)).toEqual([...clientOut.map(back), ...aToB.map(flip), ...serverIn.map(back)]);
  });

  it('sees the data segment with its VXLAN header on the underlay', () => {
    expect(pathOf(PSH | ACK, true)).toEqual([...clientOut, ...aToB, ...serverIn]);
    const onUnderlay = events.find((e) => e.vni !== undefined && e.inner?.tcpFlags === (PSH | ACK) && e.inner.dport === PORT);
    expect(onUnderlay?.vni).toBe(42);
    expect(onUnderlay?.outer).toMatchObject({ proto: 17, dport: 4789 });
    expect(onUnderlay?.inner).toMatchObject({ saddr: '10.77.0.1', daddr: '10.77.0.2', proto: 6 });
  });

  it('sees nothing of traffic to another port', () => {
    const other = events.filter((e) => [e.outer, e.inner].some((h) => h && (h.dport === OTHER_PORT || h.sport === OTHER_PORT)));
    expect(other).toEqual([]);
  });
});
