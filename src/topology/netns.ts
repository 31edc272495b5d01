// Every network namespace on this machine, keyed by its nsfs inode (the `ns.inum` that BPF
// programs see), each with one path that setns() can open. Sources, in order of preference
// for the path we hand out (a bind-mounted file outlives any process, so it wins over /proc):
//   host   the machine's own namespace (/proc/1/ns/net)
//   netns  iproute2's named namespaces (/run/netns)
//   docker Docker's sandbox files (/var/run/docker/netns, or the exec-root of each dockerd,
//          reached through /proc/<dockerd pid>/root when dockerd has its own mount namespace)
//   proc   any process's namespace (/proc/<pid>/ns/net) that no file names
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type NetnsSource = 'host' | 'netns' | 'docker' | 'proc';

export interface NetnsRef {
  inode: number;
  /** a path setns() can open */
  path: string;
  /** e.g. the ip-netns name, the Docker sandbox file name, `pid:1234 (comm)` */
  names: string[];
  source: NetnsSource;
  /** for source 'docker': the dockerd whose exec-root holds the file (when known) */
  dockerd?: { pid: number; execRoot: string };
}

export interface ListNetnsOptions {
  /** scan /proc/*\/ns/net too (default true) */
  proc?: boolean;
  /** extra folders of namespace files, read like /run/netns (source 'netns') */
  extraDirs?: string[];
  /** folders of Docker sandbox files besides the ones found from running dockerds */
  dockerDirs?: string[];
  /** root of the proc filesystem (tests) */
  procRoot?: string;
  /** processes not to count as holders (the watcher's own monitors) */
  excludePids?: Set<number>;
}

export interface Dockerd {
  pid: number;
  /** --exec-root, default /var/run/docker */
  execRoot: string;
  /** unix sockets from -H unix://…, default /var/run/docker.sock */
  sockets: string[];
  /** true when dockerd runs in our own mount namespace */
  sameMountNs: boolean;
}

const sourceRank: Record<NetnsSource, number> = { host: 0, netns: 1, docker: 2, proc: 3 };

/** The device of nsfs: a file only names a namespace when it lives there (a stale mount point does not). */
async function nsfsDev(procRoot: string): Promise<number> {
  return (await fs.stat(path.join(procRoot, 'self/ns/net'))).dev;
}

async function statNs(p: string, dev: number): Promise<number | undefined> {
  try {
    const st = await fs.stat(p);
    return st.dev === dev ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

async function readDirSafe(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

async function pids(procRoot: string): Promise<number[]> {
  return (await readDirSafe(procRoot)).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Parses a dockerd command line (argv) for its exec-root and unix sockets. */
export function parseDockerdArgs(argv: string[]): { execRoot: string; sockets: string[] } {
  let execRoot = '/var/run/docker';
  const sockets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let v: string | undefined;
    const take = (flag: string): boolean => {
      if (a === flag) {
        v = argv[++i];
        return true;
      }
      if (a.startsWith(flag + '=')) {
        v = a.slice(flag.length + 1);
        return true;
      }
      return false;
    };
    if (take('--exec-root')) {
      if (v) execRoot = v;
    } else if (take('-H') || take('--host')) {
      if (v?.startsWith('unix://')) sockets.push(v.slice('unix://'.length));
      else if (v?.startsWith('/')) sockets.push(v);
    }
  }
  if (sockets.length === 0) sockets.push('/var/run/docker.sock');
  return { execRoot, sockets };
}

/** Running dockerd processes, each with where its namespace files and sockets are. */
export async function findDockerds(procRoot = '/proc'): Promise<Dockerd[]> {
  const out: Dockerd[] = [];
  let selfMnt: string | undefined;
  try {
    selfMnt = await fs.readlink(path.join(procRoot, 'self/ns/mnt'));
  } catch {
    /* no mount ns info: assume a different one */
  }
  await Promise.all(
    (await pids(procRoot)).map(async (pid) => {
      try {
        const comm = (await fs.readFile(path.join(procRoot, String(pid), 'comm'), 'utf8')).trim();
        if (comm !== 'dockerd') return;
        const argv = (await fs.readFile(path.join(procRoot, String(pid), 'cmdline'), 'utf8')).split('\0').filter(Boolean);
        const mnt = await fs.readlink(path.join(procRoot, String(pid), 'ns/mnt')).catch(() => '');
        out.push({ pid, ...parseDockerdArgs(argv.slice(1)), sameMountNs: mnt !== '' && mnt === selfMnt });
      } catch {
        /* the process ended while we looked */
      }
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}

/** The path to a file of dockerd's mount namespace, as seen from ours. */
export function pathInDockerd(d: Dockerd, p: string, procRoot = '/proc'): string {
  return d.sameMountNs ? p : path.join(procRoot, String(d.pid), 'root', p);
}

/**
 * Every network namespace on this machine, deduplicated by inode, the host's first.
 * Never throws for a vanished process or an unreadable folder: it reports what it can see.
 */
export async function listNetns(opts: ListNetnsOptions = {}): Promise<NetnsRef[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const dev = await nsfsDev(procRoot);
  const byInode = new Map<number, NetnsRef>();

  const add = (inode: number | undefined, ref: Omit<NetnsRef, 'inode'>): void => {
    if (inode === undefined) return;
    const cur = byInode.get(inode);
    if (!cur) {
      byInode.set(inode, { inode, ...ref, names: [...ref.names] });
      return;
    }
    for (const n of ref.names) if (!cur.names.includes(n)) cur.names.push(n);
    if (sourceRank[ref.source] < sourceRank[cur.source]) {
      cur.source = ref.source;
      cur.path = ref.path;
      if (ref.dockerd) cur.dockerd = ref.dockerd;
    } else if (ref.dockerd && !cur.dockerd) cur.dockerd = ref.dockerd;
  };

  // The host's namespace is init's; where init is out of reach (a sandbox, a hardened
  // /proc) it is ours, and /proc/self/ns/net opens it from this same process.
  let hostPath = path.join(procRoot, '1/ns/net');
  let hostInode = await statNs(hostPath, dev);
  if (hostInode === undefined) {
    hostPath = path.join(procRoot, 'self/ns/net');
    hostInode = await statNs(hostPath, dev);
  }
  add(hostInode, { path: hostPath, names: ['host'], source: 'host' });

  const namedDirs = ['/run/netns', ...(opts.extraDirs ?? [])];
  // /var/run is a symlink to /run on most systems; read it too where it is not.
  if ((await fs.realpath('/var/run/netns').catch(() => '/run/netns')) !== '/run/netns') namedDirs.push('/var/run/netns');
  for (const dir of namedDirs) {
    const files = await readDirSafe(dir);
    await Promise.all(
      files.map(async (f) => add(await statNs(path.join(dir, f), dev), { path: path.join(dir, f), names: [f], source: 'netns' })),
    );
  }

  const dockerDirs: { dir: string; dockerd?: NetnsRef['dockerd'] }[] = (opts.dockerDirs ?? ['/var/run/docker/netns']).map((dir) => ({ dir }));
  for (const d of await findDockerds(procRoot)) {
    dockerDirs.push({ dir: pathInDockerd(d, path.join(d.execRoot, 'netns'), procRoot), dockerd: { pid: d.pid, execRoot: d.execRoot } });
  }
  for (const { dir, dockerd } of dockerDirs) {
    const files = await readDirSafe(dir);
    await Promise.all(
      files.map(async (f) => {
        const p = path.join(dir, f);
        add(await statNs(p, dev), { path: p, names: [f], source: 'docker', ...(dockerd ? { dockerd } : {}) });
      }),
    );
  }

  if (opts.proc !== false) {
    const all = (await pids(procRoot)).filter((p) => !opts.excludePids?.has(p));
    const found = await Promise.all(
      all.map(async (pid) => ({ pid, inode: await statNs(path.join(procRoot, String(pid), 'ns/net'), dev) })),
    );
    // Lowest pid first: the namespace's first process is the likeliest to live on.
    found.sort((a, b) => a.pid - b.pid);
    const unseen = found.filter((f) => f.inode !== undefined && !byInode.has(f.inode));
    const firstPid = new Map<number, number>();
    for (const f of unseen) if (!firstPid.has(f.inode!)) firstPid.set(f.inode!, f.pid);
    await Promise.all(
      [...firstPid].map(async ([inode, pid]) => {
        const comm = (await fs.readFile(path.join(procRoot, String(pid), 'comm'), 'utf8').catch(() => '?')).trim();
        add(inode, { path: path.join(procRoot, String(pid), 'ns/net'), names: [`pid:${pid} (${comm})`], source: 'proc' });
      }),
    );
  }

  return [...byInode.values()].sort((a, b) => sourceRank[a.source] - sourceRank[b.source] || a.path.localeCompare(b.path));
}

/** The inode of the namespace a path names, or undefined when it names none. */
export async function netnsInode(p: string, procRoot = '/proc'): Promise<number | undefined> {
  return statNs(p, await nsfsDev(procRoot));
}
