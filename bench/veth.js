// Packets per second through a veth pair between two namespaces (UDP, 64-byte payloads,
// iperf3): untraced, traced with a filter nothing matches, and with every packet traced
// on every hook. Rounds alternate so the shared machine's noise hits all three alike.
import { spawn } from 'node:child_process';
import { ProbeSession } from '../dist/probe/session.js';
import { BenchNet } from './netns.js';
import { sh } from './util.js';

function iperf(net, seconds) {
  return new Promise((resolve, reject) => {
    const srv = spawn('ip', ['netns', 'exec', net.names[1], 'iperf3', '-s', '-1', '-B', '10.88.0.2', '-p', '15201'], { stdio: 'ignore' });
    setTimeout(() => {
      try {
        const out = sh(['ip', 'netns', 'exec', net.names[0], 'iperf3', '-u', '-b', '0', '-l', '64', '-t', String(seconds), '-c', '10.88.0.2', '-p', '15201', '-J']);
        const j = JSON.parse(out);
        const s = j.end.sum_received ?? j.end.sum;
        resolve(Math.round((s.packets - (s.lost_packets ?? 0)) / s.seconds));
      } catch (e) {
        reject(e);
      } finally {
        srv.kill();
      }
    }, 300);
  });
}

async function traced(net, filter, seconds) {
  const s = await ProbeSession.open({ filter, namespaces: net.refs(), follow: false });
  let events = 0;
  const drain = (async () => {
    for await (const b of s) events += b.length;
  })();
  const pps = await iperf(net, seconds);
  const c = s.counters();
  await s.close();
  await drain;
  return { pps, events, lost: c.ringFull + c.queueFull };
}

export async function benchVeth({ seconds = 3, rounds = 2 } = {}) {
  const net = new BenchNet('mtb-veth-');
  try {
    const a = net.ns('a'), b = net.ns('b');
    sh(['ip', 'link', 'add', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', '10.88.0.1/24', 'dev', 'eth0']);
    sh(['ip', '-n', b, 'addr', 'add', '10.88.0.2/24', 'dev', 'eth0']);
    for (const n of [a, b]) sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
    const runs = { untraced: [], nonMatching: [], everything: [] };
    for (let r = 0; r < rounds; r++) {
      runs.untraced.push({ pps: await iperf(net, seconds) });
      runs.nonMatching.push(await traced(net, { port: 9 }, seconds));
      runs.everything.push(await traced(net, {}, seconds));
    }
    const best = (xs) => xs.reduce((p, q) => (q.pps > p.pps ? q : p));
    const base = best(runs.untraced).pps;
    const nm = best(runs.nonMatching), all = best(runs.everything);
    return {
      name: 'veth',
      untracedPps: base,
      nonMatching: { pps: nm.pps, ratio: +(nm.pps / base).toFixed(3), events: nm.events },
      everything: { pps: all.pps, ratio: +(all.pps / base).toFixed(3), events: all.events, eventsLost: all.lost },
      goal: 'non-matching filter loses <= 2 %, every packet on every hook loses <= 10 %',
      met: nm.pps / base >= 0.98 && all.pps / base >= 0.9,
    };
  } finally {
    net.destroy();
  }
}
