// The veth floor taken apart: packets per second through a veth pair (UDP 64 B, iperf3,
// as bench/veth.js) for untraced twice (A/A: the noise between two identical runs), each
// attach point's empty program alone (tc egress, tc ingress, consume_skb), all three over
// tcx and over clsact, a hook that is attached but never runs for these packets (kfree_skb:
// the tracer process and its poll thread alone), and the real programs (non-matching filter,
// everything traced). Rounds alternate, and the order inside a round rotates, so drift on
// the shared machine hits every variant alike. Each variant is judged by its ratio to the
// untraced run of the same round.
//
//   node bench/run.js vethfloor
//   MT_BENCH_ROUNDS=8 MT_VF_VARIANTS=untraced,untracedB,floor3 node bench/run.js vethfloor
//   MT_VF_STATS=1 ...   kernel.bpf_stats_enabled=1 during the traced runs (restored after):
//                      run_time_ns / run_cnt of each program, a second view of the cost
//                      (pps rows measured this way include the stats' own clock reads)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ProbeSession } from '../dist/probe/session.js';

// MT_VF_BASE=/path/to/another/worktree (built): its ProbeSession for the base* variants, to
// measure a change side by side with the build it changes
const BASE = process.env.MT_VF_BASE ? (await import(`${process.env.MT_VF_BASE}/dist/probe/session.js`)).ProbeSession : undefined;
import { BenchNet } from './netns.js';
import { median, run, sh } from './util.js';
import { FLOOR } from './veth.js';

const PATH3 = ['device-egress', 'device-ingress', 'consume'];

export const VARIANTS = {
  untraced: null,
  untracedB: null,
  floorEgress: { filter: {}, stubPrograms: FLOOR, hooks: ['device-egress'], tcMode: 'tcx' },
  floorIngress: { filter: {}, stubPrograms: FLOOR, hooks: ['device-ingress'], tcMode: 'tcx' },
  floorConsume: { filter: {}, stubPrograms: FLOOR, hooks: ['consume'] },
  floorDropOnly: { filter: {}, stubPrograms: FLOOR, hooks: ['drop'] },
  // the same, with the reader polling once a second instead of every 4 ms
  floorDropOnlySlowPoll: { filter: {}, stubPrograms: FLOOR, hooks: ['drop'], flushMs: 1000 },
  // untraced, beside a process that only wakes every 4 ms (as the reader's poll does)
  untracedPoller: { poller: true },
  floor3: { filter: {}, stubPrograms: FLOOR, hooks: PATH3, tcMode: 'tcx' },
  floor3Clsact: { filter: {}, stubPrograms: FLOOR, hooks: PATH3, tcMode: 'clsact' },
  floorTc2: { filter: {}, stubPrograms: FLOOR, hooks: ['device-egress', 'device-ingress'], tcMode: 'tcx' },
  // the ring alone at both tc hooks (bpf/floor.bpf.c), the empty consume_skb beside them
  ringResv: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_resv', mt_tc_egress: 'mt_floor_ring_resv' }, hooks: PATH3, tcMode: 'tcx' },
  ringCopy: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_copy', mt_tc_egress: 'mt_floor_ring_copy' }, hooks: PATH3, tcMode: 'tcx' },
  ringQuery: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_query', mt_tc_egress: 'mt_floor_ring_query' }, hooks: PATH3, tcMode: 'tcx' },
  ringQueryNoWake: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_qnowake', mt_tc_egress: 'mt_floor_ring_qnowake' }, hooks: PATH3, tcMode: 'tcx' },
  ringCross: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_cross', mt_tc_egress: 'mt_floor_ring_cross' }, hooks: PATH3, tcMode: 'tcx' },
  ringCross16: { filter: {}, stubPrograms: { ...FLOOR, mt_tc_ingress: 'mt_floor_ring_cross16', mt_tc_egress: 'mt_floor_ring_cross16' }, hooks: PATH3, tcMode: 'tcx' },
  baseNonMatching: { filter: { port: 9 }, base: true },
  baseEverything: { filter: {}, base: true },
  nonMatching: { filter: { port: 9 } },
  // the reader polling once a second: what the 4 ms poll costs these rows
  nonMatchingSlowPoll: { filter: { port: 9 }, flushMs: 1000 },
  everythingPoll50: { filter: {}, flushMs: 50 },
  floor3SlowPoll: { filter: {}, stubPrograms: FLOOR, hooks: PATH3, tcMode: 'tcx', flushMs: 1000 },
  everything: { filter: {} },
};
const DEFAULT = ['untraced', 'untracedB', 'floorEgress', 'floorIngress', 'floorConsume', 'floorDropOnly', 'floor3', 'floor3Clsact', 'nonMatching', 'everything'];


// MT_VF_PIN=1 (default): the client (and the softirq work of the whole path, which runs
// in its context: veth hands the frame to the peer's backlog on the same CPU) on CPU 0, the
// server on CPU 1, so runs do not differ by where the scheduler put the two
const PIN = process.env.MT_VF_PIN !== '0';
const pin = (cpu) => (PIN ? ['taskset', '-c', String(cpu)] : []);

// iperf3 under bash, which prints the CPU (user, system) its child used on exit: a task's
// system time is tick-accounted here and includes the softirq work done in its context
const TIMED = ['bash', '-c', 'iperf3 "$@"; rc=$?; times >&2; exit $rc', 'iperf3'];
function childSeconds(stderr) {
  const m = stderr.trim().split('\n').pop().match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  return m ? 60 * m[1] + +m[2] + 60 * m[3] + +m[4] : NaN;
}

function runTimed(argv, box = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    box.pid = p.pid;
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code, sig) => resolve({ code, sig, out, err, cpu: childSeconds(err) }));
  });
}

// Also the CPU each side spent per packet: the client's (send, both tc hooks and the
// receive softirq up to the socket, all in its context) and the server's (recvmsg and the
// skb's free, where consume_skb fires). Less disturbed by other load than packets/s.
async function iperf(net, seconds) {
  // SIGTERM to bash would not reach iperf3: the server ends by itself after one test (-1)
  const box = {};
  const srv = runTimed(['ip', 'netns', 'exec', net.names[1], ...pin(1), ...TIMED, '-s', '-1', '-B', '10.88.0.2', '-p', '15202'], box);
  // a server left waiting (the client never came) is ended with its process group
  const guard = setTimeout(() => { try { process.kill(-box.pid, 'SIGTERM'); } catch {} }, (seconds + 10) * 1000);
  await new Promise((r) => setTimeout(r, 300));
  const cl = await runTimed(['ip', 'netns', 'exec', net.names[0], ...pin(0), ...TIMED, '-u', '-b', '0', '-l', '64', '-t', String(seconds), '-c', '10.88.0.2', '-p', '15202', '-J']);
  const sv = await srv;
  clearTimeout(guard);
  if (cl.code !== 0) throw new Error(`iperf3 client: exit ${cl.code}: ${cl.err || cl.out}`);
  const s = JSON.parse(cl.out).end;
  const sum = s.sum_received ?? s.sum;
  const delivered = sum.packets - (sum.lost_packets ?? 0);
  return {
    pps: Math.round(delivered / sum.seconds),
    lost: sum.lost_packets ?? 0,
    clientNsPerPkt: Math.round((cl.cpu * 1e9) / sum.packets),
    serverNsPerPkt: Math.round((sv.cpu * 1e9) / Math.max(1, delivered)),
  };
}

/** run_time_ns and run_cnt of every loaded mt_* program (bpftool; names are cut to 15) */
function progStats() {
  const out = {};
  for (const p of JSON.parse(sh(['bpftool', 'prog', 'show', '-j']))) {
    if (!p.name?.startsWith('mt_') || !p.run_cnt) continue;
    out[`${p.name}#${p.id}`] = { runCnt: p.run_cnt, nsPerRun: +(p.run_time_ns / p.run_cnt).toFixed(1) };
  }
  return out;
}

async function traced(net, { base, ...opts }, seconds, stats) {
  if (base && !BASE) throw new Error('base variants need MT_VF_BASE');
  const s = await (base ? BASE : ProbeSession).open({ namespaces: net.refs(), follow: false, ...opts });
  let events = 0;
  const drain = (async () => {
    for await (const b of s) events += b.length;
  })();
  try {
    const r = await iperf(net, seconds);
    const c = s.counters();
    Object.assign(r, { events, ringFull: c.ringFull, tc: s.tcMechanism() });
    if (stats) r.progs = progStats();
    return r;
  } finally {
    await s.close();
    await drain;
  }
}

/** (busy, idle, steal) jiffies of the whole machine: how busy the 2 cores were during a run */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4], steal = f[7] ?? 0;
  return { busy: f.reduce((a, b) => a + b, 0) - idle - steal, idle, steal };
}

/** CPU seconds of this process and its reaped children (iperf3 client and server) */
function ownCpu() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // fields 14-17 (utime stime cutime cstime) are at 11..14 after the command
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** wait (up to maxMs) for a second in which other processes use under 0.15 of a core (sampled over 0.5 s) */
async function quiet(maxMs = 60000) {
  const t0 = Date.now();
  for (;;) {
    const c0 = cpuTimes();
    await sleep(500);
    const c1 = cpuTimes(), all = c1.busy + c1.idle + c1.steal - c0.busy - c0.idle - c0.steal;
    const busy = (2 * (c1.busy - c0.busy)) / all;
    if (busy < 0.15 || Date.now() - t0 > maxMs) return busy;
  }
}

export async function benchVethFloor({ seconds = Number(process.env.MT_VF_SECONDS ?? 3), rounds = Number(process.env.MT_BENCH_ROUNDS ?? 4) } = {}) {
  const names = process.env.MT_VF_VARIANTS ? process.env.MT_VF_VARIANTS.split(',') : DEFAULT;
  for (const n of names) if (!(n in VARIANTS)) throw new Error(`unknown variant ${n}`);
  const stats = process.env.MT_VF_STATS === '1';
  const statsBefore = sh(['sysctl', '-n', 'kernel.bpf_stats_enabled']).trim();
  const net = new BenchNet('mtb-vf-');
  try {
    net.vethPair();
    if (stats) sh(['sysctl', '-q', '-w', 'kernel.bpf_stats_enabled=1']);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    // MT_VF_PAIRED=1: an untraced run before every variant and after the last one, so each
    // variant is judged against the untraced runs on either side of it (the machine drifts
    // by +-10 % over minutes; adjacent runs drift together)
    const paired = process.env.MT_VF_PAIRED === '1' && runs.untraced;
    const seq = [];
    for (let r = 0; r < rounds; r++) {
      const others = paired ? names.filter((n) => n !== 'untraced') : names;
      const order = others.map((_, i) => others[(i + r) % others.length]);
      for (const n of order) {
        if (paired) seq.push(['untraced', r]);
        seq.push([n, r]);
      }
    }
    if (paired) seq.push(['untraced', rounds - 1]);
    let idx = 0;
    {
      for (const [n, r] of seq) {
        const opts = VARIANTS[n];
        // wait for a quiet second first; a run that other processes shared anyway is kept,
        // marked with their share (foreignCores), and left out of the summary above 0.15
        await quiet(20000);
        const c0 = cpuTimes(), o0 = ownCpu();
        let x;
        if (opts?.poller) {
          const p = spawn('python3', ['-c', 'import time\nwhile True: time.sleep(0.004)'], { stdio: 'ignore' });
          try {
            x = await iperf(net, seconds);
          } finally {
            const gone = new Promise((r) => p.once('exit', r));
            p.kill();
            await gone;
          }
        } else x = opts ? await traced(net, opts, seconds, stats) : await iperf(net, seconds);
        const c1 = cpuTimes(), o1 = ownCpu(), all = c1.busy + c1.idle + c1.steal - c0.busy - c0.idle - c0.steal;
        x.busyCores = +((2 * (c1.busy - c0.busy)) / all).toFixed(2);
        x.foreignCores = +((2 * (c1.busy - c0.busy - (o1 - o0))) / all).toFixed(2);
        x.stealCores = +((2 * (c1.steal - c0.steal)) / all).toFixed(2);
        x.round = r;
        x.idx = idx++;
        runs[n].push(x);
        process.stderr.write(`  round ${r} ${n}: ${x.pps} client ${x.clientNsPerPkt} ns/pkt server ${x.serverNsPerPkt} lost ${x.lost} foreign ${x.foreignCores} steal ${x.stealCores}${x.progs ? ' ' + JSON.stringify(x.progs) : ''}\n`);
      }
    }
    const clean = (x) => x.foreignCores <= 0.15;
    const base = runs.untraced ?? runs[names[0]];
    const baseMed = (k) => median(base.filter(clean).map((x) => x[k]));
    const out = {};
    for (const n of names) {
      const ok = runs[n].filter(clean);
      const pps = ok.map((x) => x.pps), cl = ok.map((x) => x.clientNsPerPkt), sv = ok.map((x) => x.serverNsPerPkt);
      // per round against that round's untraced run, when both were clean
      let ratios, nsAbove = [];
      if (paired && n !== 'untraced') {
        // against the mean of the clean untraced runs just before and after
        const u = runs.untraced;
        ratios = [];
        for (const x of ok) {
          const nb = u.filter((y) => (y.idx === x.idx - 1 || y.idx === x.idx + 1) && clean(y));
          if (!nb.length) continue;
          ratios.push(x.pps / (nb.reduce((a, y) => a + y.pps, 0) / nb.length));
          nsAbove.push(x.clientNsPerPkt - nb.reduce((a, y) => a + y.clientNsPerPkt, 0) / nb.length);
        }
      } else ratios = ok.filter((x) => clean(base[x.round])).map((x) => x.pps / base[x.round].pps);
      out[n] = {
        cleanRuns: `${ok.length}/${runs[n].length}`,
        pps: runs[n].map((x) => x.pps),
        foreignCores: runs[n].map((x) => x.foreignCores),
        medianPps: median(pps),
        minPps: Math.min(...pps),
        maxPps: Math.max(...pps),
        ratioOfMedians: +(median(pps) / baseMed('pps')).toFixed(3),
        ratioPerRound: ratios.map((v) => +v.toFixed(3)),
        ratioMedian: ratios.length ? +median(ratios).toFixed(3) : null,
        clientNsPerPkt: cl,
        clientNsMedian: median(cl),
        clientNsAboveUntraced: median(cl) - baseMed('clientNsPerPkt'),
        ...(nsAbove.length ? { clientNsAboveNeighbours: nsAbove.map(Math.round), clientNsAboveNeighboursMedian: Math.round(median(nsAbove)) } : {}),
        serverNsMedian: median(sv),
        serverNsAboveUntraced: median(sv) - baseMed('serverNsPerPkt'),
        lost: runs[n].map((x) => x.lost),
      };
      if (runs[n][0].tc) out[n].tc = runs[n][0].tc;
      if (runs[n][0].events !== undefined) out[n].events = runs[n].map((x) => x.events);
      if (stats && runs[n][0].progs) out[n].progs = runs[n].map((x) => x.progs);
    }
    return { name: 'vethfloor', seconds, rounds, stats, pinned: PIN, paired: !!paired, base: process.env.MT_VF_BASE, variants: out };
  } finally {
    if (stats) sh(['sysctl', '-q', '-w', `kernel.bpf_stats_enabled=${statsBefore === '1' ? 1 : 0}`]);
    net.destroy();
  }
}
