// The path tests' network: a client and a server joined through two "nodes", each with a
// bridge and a VXLAN tunnel over an underlay veth, and a TCP request traced across it.
//
//   client ──veth── nodeA[ b0 ─ br0 ─ vx0 (VNI 42) ] ══ underlay veth ══ nodeB[ vx0 ─ br0 ─ b1 ] ──veth── server
//
// nodeA and the server have a netfilter table (a rule that changes nothing); the client and
// nodeB have none. Netfilter links (and hops) go where netfilter has rules, and where a
// bridge's frames cross netfilter (br_netfilter) with no fentry/kprobe hook on the bridge:
// nodeB gets them only then, the client never.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import type { PacketEvent } from '../../../src/events/decode.js';
import { decodeNfAux, nfHookName } from '../../../src/events/hooks.js';
import { ProbeSession, type ProbeSessionOptions } from '../../../src/probe/session.js';
import type { TestNet } from './testnet.js';

export const PORT = 18080;
export const OTHER_PORT = 18081;
export const SYN = 0x02, ACK = 0x10, PSH = 0x08;

export interface OverlayTrace {
  events: PacketEvent[];
  /** the rung each hook point got in the session */
  rungs: Record<string, string>;
  /** the bridges' IPv4 crosses iptables (br_netfilter present) */
  bridgeNetfilter: boolean;
  /** the namespaces given netfilter rules (hop labels' prefixes) */
  withRules: string[];
  names: Map<string, string>;
  reply: string;
  refused: boolean;
}

/** builds the network in `net` (call once per TestNet) */
export const WITH_RULES = ['nodeA', 'server'];
const WITH_BRIDGE = ['nodeA', 'nodeB'];

export function buildOverlay(net: TestNet): { bridgeNetfilter: boolean } {
  const client = net.ns('client');
  const nodeA = net.ns('nodeA');
  const nodeB = net.ns('nodeB');
  const server = net.ns('server');
  // bridged IPv4 crosses iptables through br_netfilter on every Docker host (dockerd loads
  // it); a kernel where it is a module that nobody loaded has no bridge netfilter hops
  try {
    execFileSync('modprobe', ['br_netfilter'], { stdio: 'ignore' });
  } catch {
    /* built in, or not there: seen below */
  }
  const bridgeNetfilter = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
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
    if (bridgeNetfilter) net.in(ns, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
  }
  net.addr(client, 'eth0', '10.77.0.1/24');
  net.addr(server, 'eth0', '10.77.0.2/24');
  // a table in nodeA and the server, none in the client and nodeB: links only where rules are
  for (const ns of [nodeA, server]) net.in(ns, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(OTHER_PORT + 1), '-j', 'ACCEPT']);
  // resolve MACs first: ARP is not what these tests are about
  net.in(client, ['ping', '-c1', '-W2', '10.77.0.2']);
  return { bridgeNetfilter };
}

/** one traced TCP request client → server:PORT, and one refused connection to OTHER_PORT */
export async function traceRequest(net: TestNet, bridgeNetfilter: boolean, opts: ProbeSessionOptions = {}): Promise<OverlayTrace> {
  const [client, , , server] = net.namespaces;
  const session = await ProbeSession.open({ filter: { port: PORT }, namespaces: net.refs(), follow: false, ...opts });
  const rungs = session.rungs();
  const events: PacketEvent[] = [];
  let reply = '';
  let refused = false;
  try {
    const srv = net.tcpServer(server, '10.77.0.2', PORT);
    await net.ready(srv);
    reply = net.tcpRequest(client, '10.77.0.2', PORT);
    refused = net.tcpRefused(client, '10.77.0.2', OTHER_PORT);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    const done = session.close();
    for await (const b of session) events.push(...b.events());
    await done;
  }
  return { events, rungs, bridgeNetfilter, withRules: WITH_RULES, names: net.deviceNames(), reply, refused };
}

/** "ns/dev hook", with netfilter's hook and stage, and the bridge's destination port */
export function hopLabel(t: OverlayTrace, e: PacketEvent): string {
  const name = (ifindex: number) => t.names.get(`${e.netns}:${ifindex}`) ?? `?${e.netns}:${ifindex}`;
  const dev = name(e.ifindex);
  if (e.hookName === 'netfilter') {
    const nf = decodeNfAux(e.aux);
    return `${dev} nf:${nfHookName[nf.hooknum]}:${nf.stage}`;
  }
  if (e.hookName === 'bridge-forward') return `${dev} bridge-forward→${name(e.aux).split('/')[1]}`;
  return `${dev} ${e.hookName}`;
}

const segment = (e: PacketEvent) => e.inner ?? e.outer;

/**
 * The hops of the first packet of the connection with exactly these TCP flags: the events
 * of its skb from there on, while they carry the same segment (a freed skb's address is
 * soon reused by another packet).
 */
export function pathOf(t: OverlayTrace, flags: number, fromClient: boolean): PacketEvent[] {
  const i = t.events.findIndex((e) => {
    const h = segment(e);
    return h && h.l4 && h.tcpFlags === flags && (fromClient ? h.dport === PORT : h.sport === PORT);
  });
  expect(i, `a packet with TCP flags ${flags}`).toBeGreaterThanOrEqual(0);
  const first = t.events[i];
  const path: PacketEvent[] = [];
  for (const e of t.events.slice(i)) {
    if (e.skb !== first.skb || e.hookName === 'consume') continue;
    const h = segment(e);
    if (!h || h.tcpFlags !== flags || h.tcpSeq !== segment(first)!.tcpSeq) break;
    path.push(e);
  }
  return path;
}

// Every hop any kernel can show for the client → server direction. "nodeX/br0 nf:…"
// entries are br_netfilter's (the bridge's IPv4 through iptables).
const CLIENT_OUT = [
  'client/eth0 nf:OUTPUT:before', 'client/eth0 nf:OUTPUT:after', 'client/eth0 nf:POSTROUTING:before', 'client/eth0 nf:POSTROUTING:after',
  'client/eth0 tc-egress', 'client/eth0 xmit', 'client/eth0 veth-xmit',
];
const A_TO_B = [
  'nodeA/b0 recv', 'nodeA/b0 tc-ingress', 'nodeA/b0 bridge-in',
  'nodeA/br0 nf:PREROUTING:before', 'nodeA/br0 nf:PREROUTING:after',
  'nodeA/b0 bridge-forward→vx0',
  'nodeA/br0 nf:POSTROUTING:before', 'nodeA/br0 nf:POSTROUTING:after',
  'nodeA/vx0 tc-egress', 'nodeA/vx0 xmit', 'nodeA/vx0 vxlan-encap',
  // the same skb, now VXLAN-encapsulated, leaves through the underlay
  'nodeA/u0 nf:OUTPUT:before', 'nodeA/u0 nf:OUTPUT:after', 'nodeA/u0 nf:POSTROUTING:before', 'nodeA/u0 nf:POSTROUTING:after',
  'nodeA/u0 tc-egress', 'nodeA/u0 xmit', 'nodeA/u0 veth-xmit',
  'nodeB/u0 recv', 'nodeB/u0 tc-ingress', 'nodeB/u0 nf:PREROUTING:before', 'nodeB/u0 nf:PREROUTING:after', 'nodeB/u0 nf:INPUT:after',
  'nodeB/u0 vxlan-decap',
  'nodeB/vx0 recv', 'nodeB/vx0 tc-ingress', 'nodeB/vx0 bridge-in',
  'nodeB/br0 nf:PREROUTING:before', 'nodeB/br0 nf:PREROUTING:after',
  'nodeB/vx0 bridge-forward→b1',
  'nodeB/br0 nf:POSTROUTING:before', 'nodeB/br0 nf:POSTROUTING:after',
  'nodeB/b1 tc-egress', 'nodeB/b1 xmit', 'nodeB/b1 veth-xmit',
];
const SERVER_IN = ['server/eth0 recv', 'server/eth0 tc-ingress', 'server/eth0 nf:PREROUTING:before', 'server/eth0 nf:PREROUTING:after', 'server/eth0 nf:INPUT:after'];

/** the same hops for the server → client direction */
function reverse(hop: string): string {
  const swap = (s: string, a: string, b: string) => s.split(a).map((p) => p.split(b).join(a)).join(b);
  return swap(swap(swap(hop, 'client/', 'server/'), 'nodeA/', 'nodeB/'), 'b0', 'b1');
}

/** hop labels of the device tracepoints -> their hook points */
const DEVICE_POINT: Record<string, string> = { xmit: 'device-xmit', recv: 'device-recv' };

/** a hop is expected exactly when the rung its hook point got here observes it */
export function seenHere(t: OverlayTrace, hop: string): boolean {
  const hook = hop.split(' ')[1].split('→')[0];
  const point = hook.startsWith('nf:') ? 'nat' : (DEVICE_POINT[hook] ?? hook);
  const rung = t.rungs[point];
  if (rung === undefined) return true; // device hooks: a session cannot run without them
  if (rung === 'derived' || rung === 'none') return false;
  // netfilter links go only into namespaces where netfilter has rules, or shows the bridge
  if (hook.startsWith('nf:')) {
    const ns = hop.split('/')[0];
    const bridgeSeenElsewhere = ['fentry', 'kprobe'].includes(t.rungs['bridge-in']);
    if (!t.withRules.includes(ns) && !(WITH_BRIDGE.includes(ns) && t.bridgeNetfilter && !bridgeSeenElsewhere)) return false;
  }
  return !(hook.startsWith('nf:') && /\/br0 /.test(hop) && !t.bridgeNetfilter);
}

/** the exact hop sequence this kernel's rungs show, client → server or back */
export function expectedPath(t: OverlayTrace, fromClient: boolean): string[] {
  const all = [...CLIENT_OUT, ...A_TO_B, ...SERVER_IN];
  return (fromClient ? all : all.map(reverse)).filter((h) => seenHere(t, h));
}
