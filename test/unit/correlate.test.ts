// The correlator on synthetic events (pure TypeScript: no kernel). The kernel and lab
// tests check the same against real packets.
import { describe, expect, it } from 'vitest';
import { Correlator, type FlowRecord } from '../../src/correlate/index.js';
import type { PacketEvent } from '../../src/events/decode.js';
import { headers, placesNamer, rule, Walk, type Place } from './helpers/packets.js';

const client: Place = { node: 'lab', netns: 'client', inode: 100, device: 'eth0', ifindex: 2 };
const n1eth1: Place = { node: 'node1', netns: 'host', inode: 200, device: 'eth1', ifindex: 3, kind: 'physical' };
const n1gw: Place = { node: 'node1', netns: 'host', inode: 200, device: 'docker_gwbridge', ifindex: 5, kind: 'bridge' };
const sboxEth1: Place = { node: 'node1', netns: 'ingress-sbox', inode: 300, device: 'eth1', ifindex: 7 };
const sboxEth0: Place = { node: 'node1', netns: 'ingress-sbox', inode: 300, device: 'eth0', ifindex: 6 };
const nginx: Place = { node: 'node1', netns: 'nginx.1', inode: 400, device: 'eth0', ifindex: 9 };
const places = [client, n1eth1, n1gw, sboxEth1, sboxEth0, nginx];
const rules = {
  200: [rule('DOCKER-INGRESS', 'DNAT', { to: '172.18.0.2:1080' })],
  300: [rule('PREROUTING', 'MARK', { setMark: '0x100/0xffffffff' }), rule('PREROUTING', 'DNAT', { to: '10.255.0.5:80' }), rule('POSTROUTING', 'SNAT', { to: '10.255.0.2' })],
};

function correlator(extra: Partial<ConstructorParameters<typeof Correlator>[0]> = {}): Correlator {
  return new Correlator({ namer: placesNamer(places, rules), wallClock: (_c, ns) => ns, ...extra });
}

/** the routing-mesh request: SYN in, SYN-ACK back, then FIN each way */
function request(skbBase: number, t0: number, sport = 40000): PacketEvent[][] {
  const syn = new Walk((skbBase + 1).toString(16), t0, headers(`192.168.60.100:${sport}`, '192.168.60.1:1080'));
  syn
    .nf(client, 'OUT')
    .out(client)
    .in(n1eth1)
    .nf(n1eth1, 'PRE', (w) => w.dnat('172.18.0.2:1080'))
    .nf(n1gw, 'POST')
    .out(n1gw)
    .in(sboxEth1)
    .nf(sboxEth1, 'PRE', (w) => {
      w.mark = 0x100;
      w.dnat('10.255.0.5:80');
    })
    .nf(sboxEth0, 'POST', (w) => w.snat('10.255.0.2'))
    .out(sboxEth0);
  syn.mark = 0;
  syn.in(nginx).consume();
  const synack = new Walk((skbBase + 2).toString(16), syn.t + 5000, headers(`10.255.0.5:80`, `10.255.0.2:${sport}`, { tcpFlags: 0x12, tcpSeq: 5000 }));
  synack
    .out(nginx)
    .in(sboxEth0)
    .nf(sboxEth0, 'PRE', (w) => w.dnat(`192.168.60.100:${sport}`))
    .nf(sboxEth1, 'POST', (w) => w.snat('172.18.0.2:1080'))
    .out(sboxEth1)
    .in(n1gw)
    .nf(n1eth1, 'POST', (w) => w.snat('192.168.60.1:1080'))
    .out(n1eth1)
    .in(client)
    .consume();
  const fin = new Walk((skbBase + 3).toString(16), synack.t + 5000, headers(`192.168.60.100:${sport}`, '192.168.60.1:1080', { tcpFlags: 0x11, tcpSeq: 1001, ipId: 2 }));
  fin.out(client).in(n1eth1).nf(n1eth1, 'PRE', (w) => w.dnat('172.18.0.2:1080')).out(n1gw).consume();
  const finBack = new Walk((skbBase + 4).toString(16), fin.t + 5000, headers(`10.255.0.5:80`, `10.255.0.2:${sport}`, { tcpFlags: 0x11, tcpSeq: 5001, ipId: 3 }));
  finBack.out(nginx).in(sboxEth0).nf(sboxEth0, 'PRE', (w) => w.dnat(`192.168.60.100:${sport}`)).consume();
  return [syn.events, synack.events, fin.events, finBack.events];
}

function run(c: Correlator, batches: PacketEvent[][], now: number): FlowRecord[] {
  for (const b of batches) c.push(b);
  return c.advance(now);
}

describe('correlator: one request through the routing mesh', () => {
  const flows = run(correlator(), request(0x1000, 1e9), 3e9);

  it('makes one closed flow with both directions', () => {
    expect(flows.length).toBe(1);
    const f = flows[0];
    expect(f).toMatchObject({ type: 'flow', id: 1, proto: 'TCP', client: '192.168.60.100:40000', server: '192.168.60.1:1080', state: 'closed' });
    expect(f.packets).toEqual({ forward: 2, reply: 2 });
    expect(f.tuples).toEqual([
      'TCP 192.168.60.100:40000 > 192.168.60.1:1080',
      'TCP 192.168.60.100:40000 > 172.18.0.2:1080',
      'TCP 192.168.60.100:40000 > 10.255.0.5:80',
      'TCP 10.255.0.2:40000 > 10.255.0.5:80',
    ]);
  });

  it('the forward path: one hop per crossing, NAT steps of their own, each rewrite named with its rule', () => {
    const hops = flows[0].forward!.hops;
    expect(hops.map((h) => `${h.where} ${h.what}`)).toEqual([
      'lab · client · eth0 out',
      'node1 · host · eth1 in',
      'node1 · host · eth1 nat',
      'node1 · host · docker_gwbridge out',
      'node1 · ingress-sbox · eth1 in',
      'node1 · ingress-sbox · eth1 nat',
      'node1 · ingress-sbox · eth0 nat',
      'node1 · ingress-sbox · eth0 out',
      'node1 · nginx.1 · eth0 in',
    ]);
    expect(hops[2].changes).toEqual([{ kind: 'DNAT', field: 'dst', from: '192.168.60.1:1080', to: '172.18.0.2:1080', rule: 'nat DOCKER-INGRESS DNAT → 172.18.0.2:1080' }]);
    expect(hops[5].changes.map((c) => `${c.kind} ${c.from} → ${c.to}`)).toEqual(['MARK 0x0 → 0x100', 'DNAT 172.18.0.2:1080 → 10.255.0.5:80']);
    expect(hops[6].changes).toMatchObject([{ kind: 'SNAT', from: '192.168.60.100:40000', to: '10.255.0.2:40000', rule: 'nat POSTROUTING SNAT → 10.255.0.2' }]);
    expect(hops[0].latency_ns).toBeNull();
    expect(hops.slice(1).every((h) => (h.latency_ns ?? 0) > 0)).toBe(true);
    expect(flows[0].forward!.end).toBe('delivered');
    expect(flows[0].forward!.total_ns).toBe(hops[hops.length - 1].t_ns - hops[0].t_ns);
  });

  it('the reply path names conntrack undoing the rewrites', () => {
    const r = flows[0].reply!;
    expect(r.packet).toMatchObject({ src: '10.255.0.5:80', dst: '10.255.0.2:40000', flags: 'S.' });
    expect(r.hops.flatMap((h) => h.changes.map((c) => `${h.netns} ${c.kind} ${c.from} → ${c.to}`))).toEqual([
      'ingress-sbox un-SNAT 10.255.0.2:40000 → 192.168.60.100:40000',
      'ingress-sbox un-DNAT 10.255.0.5:80 → 172.18.0.2:1080',
      'host un-DNAT 172.18.0.2:1080 → 192.168.60.1:1080',
    ]);
  });

  it('waits for the close linger and the idle timeout, and flushes what is left', () => {
    const c = correlator();
    const [syn, synack, fin, finBack] = request(0x2000, 1e9);
    c.push([...syn, ...synack, ...fin, ...finBack]);
    const last = finBack[finBack.length - 1].tsNs;
    expect(c.advance(last + 100e6)).toEqual([]);
    expect(c.advance(last + 300e6).length).toBe(1);
    const u = correlator();
    u.push(syn);
    expect(u.advance(syn[syn.length - 1].tsNs + 4e9)).toEqual([]);
    expect(u.flush().map((f) => f.state)).toEqual(['open']);
  });
});

describe('correlator: what the kernel does to skbs', () => {
  it('out-of-order batches from different CPUs give the same flow', () => {
    const inOrder = run(correlator(), request(0x3000, 1e9), 5e9);
    const batches = request(0x3000, 1e9);
    // two CPUs' halves of each packet, the later half delivered first
    const shuffled = batches.flatMap((b) => [b.slice(Math.floor(b.length / 2)), b.slice(0, Math.floor(b.length / 2))]).reverse();
    const c = correlator();
    for (const b of shuffled) c.push(b);
    expect(c.advance(5e9)).toEqual(inOrder);
  });

  it('an skb address reused after its free starts a new journey; a late event before the free stays with the old one', () => {
    const c = correlator();
    const a = new Walk('abc', 1e9, headers('10.0.0.1:1111', '10.0.0.2:80')).out(client).in(nginx).consume();
    const b = new Walk('abc', 2e9, headers('10.0.0.3:2222', '10.0.0.2:80')).out(client).in(nginx).consume();
    const late = a.events.splice(1, 1); // a's tc-egress... xmit arrives after the free
    c.push(a.events);
    c.push(b.events.slice(0, 2));
    c.push(late);
    c.push(b.events.slice(2));
    const flows = c.flush();
    expect(flows.map((f) => f.client)).toEqual(['10.0.0.1:1111', '10.0.0.3:2222']);
    expect(flows[0].forward!.hops.map((h) => h.hooks.join(','))).toEqual(['tc-egress,xmit', 'recv,tc-ingress']);
    expect(c.counters().missedFrees).toBe(0);
  });

  it('a reused skb whose free was missed is told apart by its TCP segment, and counted', () => {
    const c = correlator();
    c.push(new Walk('abc', 1e9, headers('10.0.0.1:1111', '10.0.0.2:80')).out(client).events);
    c.push(new Walk('abc', 1.1e9, headers('10.0.0.1:1111', '10.0.0.2:80', { tcpSeq: 77, tcpFlags: 0x10 })).in(nginx).events);
    expect(c.counters()).toMatchObject({ journeys: 2, missedFrees: 1 });
    expect(c.flush()[0].packets.forward).toBe(2);
  });

  it('a clone (same datagram, another skb, while the first lives) is linked to its parent, not counted twice', () => {
    const c = correlator();
    const h = headers('10.0.0.1:1111', '10.0.0.2:80');
    const parent = new Walk('p1', 1e9, h).in(n1gw);
    const clone = new Walk('c1', 1e9 + 1500, h).out(sboxEth1).consume();
    parent.out(nginx).consume();
    c.push([...parent.events, ...clone.events].sort((x, y) => x.tsNs - y.tsNs));
    const [f] = c.flush();
    expect(f.packets.forward).toBe(1);
    expect(f.forward!.clones).toBe(1);
    expect(c.counters().clones).toBe(1);
  });

  it('a packet whose free was missed parents clones until its skb carries another packet, and a clone window after, not later', () => {
    const c = correlator();
    const h = headers('10.0.0.1:1111', '10.0.0.2:80');
    const p = new Walk('p1', 1e9, h).in(n1gw).out(nginx);
    // the same skb, another segment: p's free was missed, p has left the journey table
    const q = new Walk('p1', 1.001e9, headers('10.0.0.1:1111', '10.0.0.2:80', { tcpSeq: 77, tcpFlags: 0x10 })).in(nginx).consume();
    const clone = new Walk('c1', 1.0015e9, h).out(sboxEth1).consume();
    // the datagram again 100 ms on: a packet of its own (a retransmission), not p's clone
    const again = new Walk('c2', 1.1e9, h).out(sboxEth1).consume();
    c.push([...p.events, ...q.events, ...clone.events, ...again.events]);
    expect(c.counters()).toMatchObject({ missedFrees: 1, clones: 1 });
    expect(c.flush()[0].packets.forward).toBe(3);
  });

  it('a packet never freed, still on its skb, stops parenting clones once silent for a second', () => {
    const c = correlator();
    const h = headers('10.0.0.1:1111', '10.0.0.2:80');
    c.push(new Walk('p1', 1e9, h).in(n1gw).out(nginx).events);
    c.push(new Walk('c1', 1.5e9, h).out(sboxEth1).consume().events);
    c.advance(2.5e9);
    c.push(new Walk('c2', 2.6e9, h).out(sboxEth1).consume().events);
    expect(c.counters()).toMatchObject({ missedFrees: 0, clones: 1 });
    expect(c.flush()[0].packets.forward).toBe(2);
  });

  it('bounded tables: the idlest flow is reported early as evicted, journeys evicted are counted', () => {
    const c = correlator({ maxFlows: 2, maxJourneys: 2 });
    for (let i = 0; i < 3; i++) c.push(new Walk(`s${i}`, 1e9 + i * 1e6, headers(`10.0.0.${i + 1}:1000`, '10.0.0.9:80')).out(client).events);
    const early = c.advance(1.01e9);
    expect(early.map((f) => [f.client, f.state])).toEqual([['10.0.0.1:1000', 'evicted']]);
    expect(c.counters()).toMatchObject({ flowsEvicted: 1, journeysEvicted: 1 });
    expect(c.flush().length).toBe(2);
  });

  it('a drop ends the path where the packet died, with the kernel reason; a socket purge is not a drop', () => {
    const c = correlator({ flowTimeoutNs: 1e9 });
    const syn = new Walk('d1', 1e9, headers('192.168.60.100:5555', '192.168.60.1:1080'));
    syn.out(client).in(sboxEth1).nf(sboxEth1, 'PRE', (w) => w.dnat('10.255.0.5:80')).drop(sboxEth1, 6);
    c.push(syn.events);
    const [f] = c.advance(3e9);
    expect(f.state).toBe('dropped');
    expect(f.forward!.end).toBe('dropped');
    expect(f.forward!.hops.at(-1)).toMatchObject({ what: 'drop', where: 'node1 · ingress-sbox · eth1', drop_reason: 'NETFILTER_DROP' });
    expect(f.drops).toEqual([{ direction: 'forward', where: 'node1 · ingress-sbox · eth1', reason: 'NETFILTER_DROP', count: 1 }]);
    const p = correlator();
    p.push(new Walk('q1', 1e9, headers('10.0.0.1:1', '10.0.0.2:2')).in(nginx).drop(undefined, 17).events);
    const [g] = p.flush();
    expect([g.state, g.forward!.end, g.drops.length]).toEqual(['open', 'delivered', 0]);
  });

  it('counts the later packets lost, not those freed as delivered nor a flooded copy dropped while another went on', () => {
    const c = correlator({ flowTimeoutNs: 1e9 });
    const h = (seq: number) => headers('10.0.0.1:1111', '10.0.0.2:80', { tcpSeq: seq, tcpFlags: 0x10 });
    // the first packet, delivered; the second, dropped by a rule; the third, purged by the
    // socket (benign); the fourth flooded by the bridge: one copy dropped, the other delivered
    const first = new Walk('f1', 1e9, h(1)).out(client).in(nginx).consume();
    const lost = new Walk('f2', 1.001e9, h(2)).out(client).drop(nginx, 6);
    const purged = new Walk('f3', 1.002e9, h(3)).out(client).in(nginx).drop(undefined, 17);
    const flooded = new Walk('f4', 1.003e9, h(4)).in(n1gw);
    const copy = new Walk('c4', 1.003e9 + 1000, h(4)).out(sboxEth1).drop(sboxEth1, 6);
    flooded.out(nginx).consume();
    // a fifth flooded likewise, both copies dropped: one packet lost
    const both = new Walk('f5', 1.004e9, h(5)).in(n1gw);
    const bothCopy = new Walk('c5', 1.004e9 + 1000, h(5)).out(sboxEth1).drop(sboxEth1, 6);
    both.drop(n1gw, 6);
    c.push([...first.events, ...lost.events, ...purged.events, ...flooded.events, ...copy.events, ...both.events, ...bothCopy.events].sort((x, y) => x.tsNs - y.tsNs));
    const [f] = c.advance(3e9);
    expect(f.packets.forward).toBe(5);
    expect(f.forward!.end).toBe('delivered');
    expect(f.drops).toEqual([
      { direction: 'forward', where: 'node1 · nginx.1 · eth0', reason: 'NETFILTER_DROP', count: 1 },
      { direction: 'forward', where: 'node1 · host · docker_gwbridge', reason: 'NETFILTER_DROP', count: 1 },
    ]);
    expect(f.state).toBe('dropped');
  });
});

/** the two ends of an overlay tunnel: node1's namespaces are inodes 200 (host) and 500
 * (1-ingress); node2's are the given ones */
function tunnelPlaces(host2: number, ingress2: number): Record<'n1vx' | 'n1eth0' | 'n2eth0' | 'n2vx', Place> {
  return {
    n1vx: { node: 'node1', netns: '1-ingress', inode: 500, device: 'vxlan0', ifindex: 4, kind: 'vxlan' },
    n1eth0: { node: 'node1', netns: 'host', inode: 200, device: 'eth0', ifindex: 2, kind: 'physical' },
    n2eth0: { node: 'node2', netns: 'host', inode: host2, device: 'eth0', ifindex: 2, kind: 'physical' },
    n2vx: { node: 'node2', netns: '1-ingress', inode: ingress2, device: 'vxlan0', ifindex: 4, kind: 'vxlan' },
  };
}

describe('correlator: across nodes', () => {
  it('joins the sender\'s encapsulation to the receiver\'s decapsulation (VNI, outer tuple, inner datagram); latency is not computed across clocks', () => {
    const { n1vx, n1eth0, n2eth0, n2vx } = tunnelPlaces(200, 500);
    const namer1 = placesNamer([n1vx, n1eth0]);
    const namer2 = placesNamer([n2vx, n2eth0]);
    // two clocks (two nodes, two recordings): the namer is per clock in real use; here one namer per run
    const inner = headers('10.255.0.2:40000', '10.255.0.5:80');
    const outer = headers('192.168.50.1:36309', '192.168.50.2:4789', { proto: 17, ipLen: 110 });
    const send = new Walk('aa', 1e9, inner).out(n1vx).encap(4096, outer).out(n1eth0).consume();
    const recv = new Walk('bb', 7e9, inner).encap(4096, outer).in(n2eth0).decap().in(n2vx).consume();
    const c = new Correlator({
      namer: { device: (ns, i) => namer1.device(ns, i) ?? undefined, netns: namer1.netns, dropReason: namer1.dropReason },
      wallClock: (_c, ns) => ns,
    });
    c.push(send.events, 'node1');
    c.push(recv.events, 'node2');
    const [f] = c.flush();
    const hops = f.forward!.hops;
    expect(hops.length).toBe(4);
    expect(hops[1].changes).toMatchObject([{ kind: 'VXLAN-encap', vni: 4096, from: '192.168.50.1:36309', to: '192.168.50.2:4789' }]);
    expect(hops[1].vxlan).toEqual({ vni: 4096, src: '192.168.50.1:36309', dst: '192.168.50.2:4789' });
    expect(hops[2].latency_ns).toBeNull();
    expect(hops[3].changes).toMatchObject([{ kind: 'VXLAN-decap', vni: 4096 }]);
    expect(f.forward!.total_ns).toBeNull();
    expect(f.packets.forward).toBe(2);
    void namer2;
  });
});

describe('correlator: across nodes, a receiver that carried two datagrams through the tunnel', () => {
  it('is still searched for the sender\'s crossing, found at the record that carries it', () => {
    // one clock and one namer: node2's namespaces need inodes of their own
    const { n1vx, n1eth0, n2eth0, n2vx } = tunnelPlaces(201, 501);
    const namer = placesNamer([n1vx, n1eth0, n2eth0, n2vx]);
    const inner = headers('10.255.0.2:40000', '10.255.0.5:80');
    const outer = headers('192.168.50.1:36309', '192.168.50.2:4789', { proto: 17, ipLen: 110 });
    const send = new Walk('aa', 1e9, inner).out(n1vx).encap(4096, outer).out(n1eth0).consume();
    // the receiver's skb is first seen with another datagram of the connection (another IP
    // ID) in the tunnel, then with the sender's: the one it knows is not the only one
    const recv = new Walk('bb', 1e9 + 50_000, { ...inner, ipId: 99 }).encap(4096, outer).in(n2eth0);
    recv.h = inner;
    recv.in(n2eth0).decap().in(n2vx).consume();
    const c = new Correlator({ namer, wallClock: (_c, ns) => ns });
    c.push([...send.events, ...recv.events]);
    const [f] = c.flush();
    expect(f.forward!.hops.map((h) => `${h.node} ${h.device}`)).toEqual(['node1 vxlan0', 'node1 eth0', 'node2 eth0', 'node2 vxlan0']);
  });
});

describe('without netfilter links (kernels before 6.4): rewrites seen between device hooks', () => {
  it('a mark set inside one namespace is a MARK, named with its rule, beside the DNAT', () => {
    const w = new Walk('d1', 1e9, headers('192.168.60.100:40000', '172.18.0.2:1080'));
    w.out(n1gw).in(sboxEth1);
    w.mark = 0x100;
    w.dnat('10.255.0.5:80');
    w.snat('10.255.0.2');
    w.out(sboxEth0);
    w.mark = 0; // scrubbed crossing into the task's namespace: not a rule's doing
    w.in(nginx).consume();
    const c = correlator();
    c.push(w.events);
    const hops = c.flush()[0].forward!.hops;
    const sbox = hops.find((h) => h.where === 'node1 · ingress-sbox · eth0')!;
    expect(sbox.changes.map((x) => `${x.kind} ${x.from} → ${x.to}${x.rule ? ` [${x.rule}]` : ''}`)).toEqual([
      'MARK 0x0 → 0x100 [mangle PREROUTING MARK mark 0x100/0xffffffff]',
      'DNAT 172.18.0.2:1080 → 10.255.0.5:80 [nat PREROUTING DNAT → 10.255.0.5:80]',
      'SNAT 192.168.60.100:40000 → 10.255.0.2:40000 [nat POSTROUTING SNAT → 10.255.0.2]',
    ]);
    expect(hops.find((h) => h.netns === 'nginx.1')!.changes).toEqual([]);
  });
});
