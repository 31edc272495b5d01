// Two swarm nodes on one machine (DOCKER-LAB.md): each a network namespace with its own
// dockerd in a private mount namespace, joined by a veth (192.168.50.1 ↔ 192.168.50.2).
// No default route anywhere: nothing leaves the machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCKER, importBusybox, type Dockerd } from './fixture.js';

const INNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swarm-inner.sh');
export const SWARM_NS = ['mtsw-node1', 'mtsw-node2'];
export const SWARM_ADDR = ['192.168.50.1', '192.168.50.2'];

const sh = (file: string, args: string[]): string => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
const tryRun = (file: string, args: string[]): void => {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    /* best effort */
  }
};

export interface SwarmNode extends Omit<Dockerd, 'stop'> {
  name: string;
  netns: string;
  addr: string;
}

export interface Swarm {
  nodes: SwarmNode[];
  stop(): Promise<void>;
}

export async function startSwarm(): Promise<Swarm> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'mt-swarm-'));
  const children: ChildProcess[] = [];
  const nodes: SwarmNode[] = [];
  const stop = async (): Promise<void> => {
    for (const n of [...nodes].reverse()) tryRun(DOCKER, ['-H', `unix://${n.socket}`, 'swarm', 'leave', '--force']);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    const t = Date.now();
    while (children.some((c) => c.exitCode === null) && Date.now() - t < 20_000) await new Promise((r) => setTimeout(r, 100));
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(base)) process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of SWARM_NS) tryRun('ip', ['netns', 'del', ns]);
    for (const n of ['node1', 'node2']) for (const ctl of readdirSync('/sys/fs/cgroup')) tryRun('rmdir', [`/sys/fs/cgroup/${ctl}/swarm-${n}`]);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    for (const ns of SWARM_NS) execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', SWARM_NS[0], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', SWARM_NS[1]]);
    SWARM_NS.forEach((ns, i) => {
      execFileSync('ip', ['-n', ns, 'addr', 'add', `${SWARM_ADDR[i]}/24`, 'dev', 'eth0']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    });
    for (let i = 0; i < 2; i++) {
      const name = `node${i + 1}`;
      const dir = path.join(base, name);
      execFileSync('mkdir', ['-p', dir]);
      const child = spawn('nsenter', [`--net=/run/netns/${SWARM_NS[i]}`, 'unshare', '-m', '-u', '--propagation', 'private', 'sh', INNER, dir, name], { stdio: 'ignore', detached: true });
      children.push(child);
      const socket = path.join(dir, 'docker.sock');
      const docker = (...args: string[]): string => sh(DOCKER, ['-H', `unix://${socket}`, ...args]);
      const t = Date.now();
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${name}'s dockerd exited at start (code ${child.exitCode})`);
        if (existsSync(socket)) {
          try {
            docker('version');
            break;
          } catch {
            /* not yet */
          }
        }
        if (Date.now() - t > 30_000) throw new Error(`${name}'s dockerd did not answer within 30 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const pid = Number(readFileSync(path.join(dir, 'docker.pid'), 'utf8').trim());
      nodes.push({ name, netns: SWARM_NS[i], addr: SWARM_ADDR[i], dir, socket, execRoot: path.join(dir, 'exec'), pid, docker });
    }
    for (const n of nodes) importBusybox(n as unknown as Dockerd);
    nodes[0].docker('swarm', 'init', '--advertise-addr', SWARM_ADDR[0], '--listen-addr', `${SWARM_ADDR[0]}:2377`);
    const token = nodes[0].docker('swarm', 'join-token', '-q', 'worker').trim();
    nodes[1].docker('swarm', 'join', '--token', token, '--advertise-addr', SWARM_ADDR[1], `${SWARM_ADDR[0]}:2377`);
    return { nodes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
