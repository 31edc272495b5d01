// A real dockerd for tests, on this host but with its own data-root, exec-root, socket and
// pidfile under a temp folder, and a busybox image made locally (no registry). stop()
// leaves the host as it was: containers, swarm, networks, dockerd and its containerd,
// mounts, bridges, nftables tables, ip_forward.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DOCKER = '/usr/bin/docker'; // not /usr/local/bin/docker, a different client
export const DOCKERD = '/usr/sbin/dockerd';

export interface Dockerd {
  dir: string;
  socket: string;
  execRoot: string;
  pid: number;
  docker(...args: string[]): string;
  stop(): Promise<void>;
}

/** Why a real dockerd cannot run here, or undefined when it can. */
export function dockerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  if (!existsSync(DOCKERD)) return `${DOCKERD} is not installed (apt-get install docker.io)`;
  if (!existsSync(DOCKER)) return `${DOCKER} is not installed (apt-get install docker.io)`;
  if (!existsSync('/bin/busybox') && !existsSync('/usr/bin/busybox')) return 'busybox is not installed (apt-get install busybox-static)';
  if (existsSync('/var/run/docker.sock')) return 'a dockerd already runs on /var/run/docker.sock; the fixture will not start a second one beside it';
  return undefined;
}

const sh = (file: string, args: string[], input?: string): string => execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
const tryRun = (file: string, args: string[]): void => {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    /* best effort in teardown */
  }
};
const nftTables = (): string[] => {
  try {
    return sh('nft', ['list', 'tables']).split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const links = (): string[] => (JSON.parse(sh('ip', ['-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);

export async function startDockerd(): Promise<Dockerd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mt-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const execRoot = path.join(dir, 'exec');
  const before = { tables: nftTables(), links: links(), forward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() };
  const log = path.join(dir, 'dockerd.log');
  const child = spawn(DOCKERD, ['--data-root', path.join(dir, 'data'), '--exec-root', execRoot, '-H', `unix://${socket}`, '--pidfile', path.join(dir, 'docker.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const docker = (...args: string[]): string => sh(DOCKER, ['-H', `unix://${socket}`, ...args]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dockerd exited at start: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    try {
      docker('version');
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within 30 s: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  writeFileSync(log, '');

  const stop = async (): Promise<void> => {
    try {
      tryRun(DOCKER, ['-H', `unix://${socket}`, 'swarm', 'leave', '--force']);
      const ids = (() => {
        try {
          return docker('ps', '-aq').split('\n').filter(Boolean);
        } catch {
          return [];
        }
      })();
      if (ids.length) tryRun(DOCKER, ['-H', `unix://${socket}`, 'rm', '-f', ...ids]);
      tryRun(DOCKER, ['-H', `unix://${socket}`, 'network', 'prune', '-f']);
    } finally {
      if (child.exitCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        const t = Date.now();
        while (child.exitCode === null && Date.now() - t < 20_000) await new Promise((r) => setTimeout(r, 100));
        if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL');
      }
      // dockerd's own containerd (and any shim) lives under our exec-root: stop it by pid.
      for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          if (cmd.includes(dir)) process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // Mounts left under the temp folder (netns files, overlay layers), deepest first.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m) => m && m.startsWith(dir))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) tryRun('umount', ['-l', m]);
      for (const l of links()) if (!before.links.includes(l) && (l === 'docker0' || l === 'docker_gwbridge' || l.startsWith('br-') || l.startsWith('veth'))) tryRun('ip', ['link', 'del', l]);
      for (const t of nftTables()) if (!before.tables.includes(t)) tryRun('nft', ['delete', ...t.replace(/^table /, 'table ').split(' ')]);
      writeFileSync('/proc/sys/net/ipv4/ip_forward', before.forward);
      // cgroups dockerd made for its containers
      for (const cg of ['/sys/fs/cgroup/docker', '/sys/fs/cgroup/system.slice/docker']) tryRun('rmdir', [cg]);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { dir, socket, execRoot, pid: child.pid!, docker, stop };
}

/** local/busybox, made from busybox-static (DOCKER-LAB.md: no registry here). */
export function importBusybox(d: Dockerd): void {
  const root = path.join(d.dir, 'rootfs');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'www'), { recursive: true });
  writeFileSync(path.join(root, 'www', 'index.html'), 'hello from busybox\n');
  const bb = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
  copyFileSync(bb, path.join(root, 'bin', 'busybox'));
  execFileSync('chmod', ['755', path.join(root, 'bin', 'busybox')]);
  for (const applet of sh(bb, ['--list']).split('\n').filter((a) => a && a !== 'busybox')) {
    try {
      symlinkSync('busybox', path.join(root, 'bin', applet));
    } catch {
      /* already there */
    }
  }
  const tar = path.join(d.dir, 'rootfs.tar');
  execFileSync('tar', ['-C', root, '-cf', tar, '.']);
  d.docker('import', '-c', 'ENV PATH=/bin', tar, 'local/busybox');
}
