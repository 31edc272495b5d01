// A hop made slow on purpose, for finding it again with `mesh-trace hotspots`: every SYN to
// the published port is held in a node's ingress-sbox for a fixed time by an NFQUEUE holder
// (scripts/lab-nfqueue-hold.py), then let through. NFQUEUE rather than tbf: the delay is the
// holder's, exact and independent of load, where tbf's depends on what is queued before the
// packet (and this kernel has no netem). The rule sits in the raw table at PREROUTING, so
// the time lands between ingress-sbox's eth1 (tc ingress) and its NAT step.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MeshTraceError } from '../errors.js';
import { runIn } from '../topology/exec.js';
import { labNetnsPath, resolveLabTarget } from './lab.js';
import { LAB_PUBLISHED_PORT } from './layout.js';

const HOLDER = fileURLToPath(new URL('../../scripts/lab-nfqueue-hold.py', import.meta.url));
const QUEUE = 7;

export interface SlowHop {
  /** the namespace holding the packets (`node1/ingress-sbox`) */
  where: string;
  delayMs: number;
  /** removes the rule, then lets the holder release what it holds and exit */
  remove(): Promise<void>;
}

/** iptables arguments of the rule (after -I/-D): only SYNs, so each request is held once */
function rule(port: number): string[] {
  return ['PREROUTING', '-t', 'raw', '-p', 'tcp', '--dport', String(port), '--syn', '-j', 'NFQUEUE', '--queue-num', String(QUEUE), '--queue-bypass'];
}

export async function labSlowHop(opts: { delayMs: number; node?: string; port?: number }): Promise<SlowHop> {
  const node = opts.node ?? 'node1';
  const port = opts.port ?? LAB_PUBLISHED_PORT;
  if (!(opts.delayMs > 0)) throw new MeshTraceError('USAGE', `The delay must be a positive number of milliseconds, not "${opts.delayMs}".`);
  const ns = resolveLabTarget(`${node}/ingress-sbox`);
  const netns = labNetnsPath(ns.name);
  if (!existsSync(netns)) throw new MeshTraceError('NOT_FOUND', `The lab is not up (${ns.name} does not exist).`, { hint: 'Run `mesh-trace lab up` first.' });
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn('nsenter', [`--net=${netns}`, '--', python, HOLDER, String(QUEUE), String(opts.delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve(true))),
    exited.then(() => false),
  ]);
  if (!ready)
    throw new MeshTraceError('KERNEL', `The NFQUEUE holder in ${node}/ingress-sbox did not start.`, { hint: 'It needs python3 and the kernel\'s nfnetlink_queue.', detail: err });
  try {
    await runIn(netns, ['iptables', '-I', ...rule(port)]);
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }
  return {
    where: `${node}/ingress-sbox`,
    delayMs: opts.delayMs,
    remove: async () => {
      await runIn(netns, ['iptables', '-D', ...rule(port)], { allowFailure: true });
      child.kill('SIGTERM');
      await exited;
    },
  };
}
