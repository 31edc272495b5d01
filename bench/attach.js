// Time to attach to 1,000 veth devices, and from a new veth appearing to its first event.
import { ProbeSession } from '../dist/probe/session.js';
import { BenchNet } from './netns.js';
import { sh } from './util.js';

export async function benchAttach({ devices = 1000 } = {}) {
  const net = new BenchNet('mtb-att-');
  try {
    const a = net.ns('a'), b = net.ns('b');
    // 500 pairs = 1,000 veth devices, created in one `ip -batch`
    const lines = [];
    for (let i = 0; i < devices / 2; i++) lines.push(`link add va${i} netns ${a} type veth peer name vb${i} netns ${b}`);
    sh(['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
    const t0 = performance.now();
    const s = await ProbeSession.open({ filter: { port: 9 }, namespaces: net.refs(), follow: true });
    const openMs = performance.now() - t0;
    const attached = s.devices().length;
    const t2 = performance.now();
    await s.close();
    const closeMs = performance.now() - t2;

    // a new veth: from `ip link add` returning to the first event seen on it
    const s2 = await ProbeSession.open({ filter: { port: 15353 }, namespaces: net.refs(), follow: true });
    const seen = new Promise((resolve) => {
      (async () => {
        for await (const batch of s2) for (const e of batch.events()) if (e.outer?.dport === 15353) return resolve(performance.now());
      })();
    });
    const t1 = performance.now();
    sh(['ip', 'link', 'add', 'newa', 'netns', a, 'type', 'veth', 'peer', 'name', 'newb', 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', '10.89.0.1/24', 'dev', 'newa']);
    sh(['ip', '-n', b, 'addr', 'add', '10.89.0.2/24', 'dev', 'newb']);
    sh(['ip', '-n', a, 'link', 'set', 'newa', 'up']);
    sh(['ip', '-n', b, 'link', 'set', 'newb', 'up']);
    const sender = setInterval(() => {
      try {
        sh(['ip', 'netns', 'exec', a, 'python3', '-c', "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(b'x',('10.89.0.2',15353))"]);
      } catch {}
    }, 10);
    const firstEvent = await Promise.race([seen, new Promise((r) => setTimeout(() => r(undefined), 5000))]);
    clearInterval(sender);
    await s2.close();
    return {
      name: 'attach',
      devices: attached,
      openMs: Math.round(openMs),
      closeMs: Math.round(closeMs),
      newVethToFirstEventMs: firstEvent === undefined ? null : Math.round(firstEvent - t1),
      goal: 'attach to 1,000 veths <= 2 s; new veth -> first event <= 200 ms',
      met: openMs <= 2000 && firstEvent !== undefined && firstEvent - t1 <= 200,
    };
  } finally {
    net.destroy();
  }
}
