// Builds, inspects and removes the lab (layout.ts) with iproute2 and iptables-restore, run
// without a shell. Everything the lab makes lives inside its own `mtlab-` namespaces, so
// deleting them takes every device, rule, socket and conntrack entry with them; the host
// namespace is never touched. No lab namespace has a default route.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { MeshTraceError } from '../errors.js';
import { CommandFailed, run, runIn, spawnDetached, type RunResult } from '../topology/exec.js';
import { netnsInode } from '../topology/netns.js';
import { LAB_PREFIX, LAB_PUBLISHED_PORT, labLayout, type LabLayout, type LabNamespace, type LbMode } from './layout.js';
import { interfacesOf, LAB_STATE_DIR, readLabMetadata, writeLabMetadata, type LabMetadata } from './metadata.js';

const NETNS_DIR = '/run/netns';

export interface LabStatus {
  /** every namespace present and every server running */
  up: boolean;
  lbMode?: LbMode;
  lbReason?: string;
  namespaces: { name: string; node: string; display: string; role: string; present: boolean; inode?: number }[];
  servers: { container: string; port: number; pid?: number; running: boolean }[];
  /** namespaces with the lab prefix that the layout does not know (left by an older lab) */
  strays: string[];
}

export interface LabUpResult extends LabStatus {
  /** false when the lab was already up and nothing was done */
  built: boolean;
  /** nginx's reply to the client's request to node1:1080 */
  check?: string;
}

export const labNetnsPath = (name: string): string => path.join(NETNS_DIR, name);

/** How the lab load-balances: IPVS like Docker where the kernel has it, iptables DNAT where not. */
export function chooseLbMode(): { mode: LbMode; reason: string } {
  if (!existsSync('/proc/net/ip_vs'))
    return { mode: 'iptables', reason: 'the kernel has no ip_vs (CONFIG_IP_VS off or module not loaded): the lab load-balances with iptables DNAT in place of the IPVS fwmark service' };
  const hasIpvsadm = ['/usr/sbin/ipvsadm', '/sbin/ipvsadm', '/usr/bin/ipvsadm'].some((p) => existsSync(p));
  if (!hasIpvsadm) return { mode: 'iptables', reason: 'ip_vs is present but ipvsadm is not installed: the lab load-balances with iptables DNAT in place of the IPVS fwmark service' };
  return { mode: 'ipvs', reason: 'ip_vs is present: an IPVS fwmark service load-balances, as Docker does' };
}

async function labNamespacesPresent(): Promise<string[]> {
  try {
    return (await fs.readdir(NETNS_DIR)).filter((n) => n.startsWith(LAB_PREFIX)).sort();
  } catch {
    return [];
  }
}

/** Alive and not a zombie (our detached servers are reaped by whoever adopted them, maybe late). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True when `pid` still runs inside the lab namespace `ns` (a reused pid is never killed). */
async function pidInNetns(pid: number, inode: number | undefined): Promise<boolean> {
  if (inode === undefined) return false;
  try {
    return (await fs.stat(`/proc/${pid}/ns/net`)).ino === inode;
  } catch {
    return false;
  }
}

export async function labStatus(): Promise<LabStatus> {
  const meta = await readLabMetadata();
  const layout = labLayout(meta?.lbMode ?? chooseLbMode().mode);
  const present = new Set(await labNamespacesPresent());
  const namespaces = await Promise.all(
    layout.namespaces.map(async (n) => ({
      name: n.name,
      node: n.node,
      display: n.display,
      role: n.role,
      present: present.has(n.name),
      inode: present.has(n.name) ? await netnsInode(labNetnsPath(n.name)) : undefined,
    })),
  );
  const inodes = new Map(namespaces.map((n) => [n.name, n.inode]));
  const servers = await Promise.all(
    layout.servers.map(async (s) => {
      const pid = meta?.servers.find((m) => m.ns === s.ns && m.port === s.port)?.pid;
      return { container: s.container, port: s.port, pid, running: pid !== undefined && (await pidInNetns(pid, inodes.get(s.ns))) };
    }),
  );
  const known = new Set(layout.namespaces.map((n) => n.name));
  const strays = [...present].filter((n) => !known.has(n));
  return {
    up: meta !== undefined && namespaces.every((n) => n.present) && servers.every((s) => s.running),
    lbMode: meta?.lbMode,
    lbReason: meta?.lbReason,
    namespaces,
    servers,
    strays,
  };
}

function preflight(): void {
  if (process.getuid && process.getuid() !== 0)
    throw new MeshTraceError('EPERM', 'The lab needs root to create network namespaces.', { hint: 'Run `sudo mesh-trace lab up`.' });
  const need: [string, string][] = [
    ['ip', 'iproute2'],
    ['bridge', 'iproute2'],
    ['nsenter', 'util-linux'],
    ['iptables-restore', 'iptables'],
    ['sysctl', 'procps'],
    ['busybox', 'busybox-static'],
  ];
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const [bin, pkg] of need) {
    if (!dirs.some((d) => existsSync(path.join(d, bin))))
      throw new MeshTraceError('NOT_FOUND', `The lab needs \`${bin}\`, which is not installed.`, { hint: `Install it: apt-get install ${pkg}` });
  }
}

/** One `ip -n NS -batch -` per namespace, all namespaces at once: dozens of commands, a handful of processes. */
async function ipBatches(tool: 'ip' | 'bridge', perNs: Map<string, string[]>): Promise<void> {
  await Promise.all(
    [...perNs].filter(([, lines]) => lines.length > 0).map(([ns, lines]) => run(tool, ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' })),
  );
}

function push(m: Map<string, string[]>, ns: string, line: string): void {
  const l = m.get(ns);
  if (l) l.push(line);
  else m.set(ns, [line]);
}

async function build(layout: LabLayout, lbReason: string): Promise<LabMetadata> {
  // Namespaces, each quiet (no IPv6: no router solicitations or DAD chatter in traces).
  await Promise.all(layout.namespaces.map((n) => run('ip', ['netns', 'add', n.name])));
  await Promise.all(
    layout.namespaces.map((n) =>
      runIn(labNetnsPath(n.name), [
        'sysctl', '-q', '-w',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
        `net.ipv4.ip_forward=${n.forwarding ? 1 : 0}`,
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
      ]),
    ),
  );

  // 1. loopback and bridges.
  const p1 = new Map<string, string[]>();
  for (const n of layout.namespaces) push(p1, n.name, 'link set lo up');
  for (const b of layout.bridges) push(p1, b.ns, `link add ${b.dev}${b.mtu ? ` mtu ${b.mtu}` : ''} type bridge`);
  await ipBatches('ip', p1);

  // 2. veth pairs across namespaces, and VXLAN devices: created in the node's host namespace
  //    (so their UDP socket is on the underlay), then moved into the overlay's namespace.
  const p2 = new Map<string, string[]>();
  for (const v of layout.veths) push(p2, v.a.ns, `link add ${v.a.dev} type veth peer name ${v.b.dev} netns ${v.b.ns}`);
  for (const x of layout.vxlans) {
    push(p2, x.hostNs, `link add ${x.createName} type vxlan id ${x.vni} dstport ${x.port} local ${x.local} nolearning proxy`);
    push(p2, x.hostNs, `link set ${x.createName} netns ${x.ns}`);
  }
  await ipBatches('ip', p2);

  // 3. names, addresses, MACs, MTUs, bridge ports, proxy-ARP entries; then links up.
  const p3 = new Map<string, string[]>();
  for (const x of layout.vxlans) push(p3, x.ns, `link set ${x.createName} name ${x.dev}`);
  for (const v of layout.veths) {
    for (const e of [v.a, v.b]) {
      const set = [`link set ${e.dev}`];
      if (e.mac) set.push(`address ${e.mac}`);
      if (e.mtu) set.push(`mtu ${e.mtu}`);
      if (e.master) set.push(`master ${e.master}`);
      if (set.length > 1) push(p3, e.ns, set.join(' '));
      if (e.addr) push(p3, e.ns, `addr add ${e.addr} dev ${e.dev}`);
    }
  }
  for (const b of layout.bridges) if (b.addr) push(p3, b.ns, `addr add ${b.addr} dev ${b.dev}`);
  for (const x of layout.vxlans) {
    push(p3, x.ns, `link set ${x.dev} mtu ${x.mtu} master br0`);
    for (const r of x.remotes) for (const ep of r.endpoints) push(p3, x.ns, `neigh add ${ep.ip} lladdr ${ep.mac} dev ${x.dev} nud permanent`);
  }
  for (const b of layout.bridges) push(p3, b.ns, `link set ${b.dev} up`);
  for (const v of layout.veths) for (const e of [v.a, v.b]) push(p3, e.ns, `link set ${e.dev} up`);
  for (const x of layout.vxlans) push(p3, x.ns, `link set ${x.dev} up`);
  await ipBatches('ip', p3);

  // 4. static fdb entries: each remote endpoint's MAC lives behind the other node's underlay address.
  const p4 = new Map<string, string[]>();
  for (const x of layout.vxlans)
    for (const r of x.remotes) for (const ep of r.endpoints) push(p4, x.ns, `fdb add ${ep.mac} dev ${x.dev} dst ${r.dst} self permanent`);
  await ipBatches('bridge', p4);

  // 5. routes (only towards lab subnets), NAT and mark rules, IPVS.
  const p5 = new Map<string, string[]>();
  for (const r of layout.routes) push(p5, r.ns, `route add ${r.dst} via ${r.via} dev ${r.dev}`);
  await ipBatches('ip', p5);
  await Promise.all(layout.rules.map((r) => runIn(labNetnsPath(r.ns), ['iptables-restore', '--noflush'], { input: r.restore })));
  for (const v of layout.ipvs) await runIn(labNetnsPath(v.ns), v.argv);

  // 6. the containers' servers.
  const servers: LabMetadata['servers'] = [];
  for (const s of layout.servers) {
    const www = s.argv[s.argv.indexOf('-h') + 1];
    if (s.argv.includes('httpd')) {
      await fs.mkdir(www, { recursive: true });
      await fs.writeFile(path.join(www, 'index.html'), `${s.expect}\n`);
    }
    const pid = spawnDetached('nsenter', [`--net=${labNetnsPath(s.ns)}`, '--', ...s.argv]);
    servers.push({ ns: s.ns, container: s.container, port: s.port, pid, expect: s.expect });
  }

  const namespaces = await Promise.all(
    layout.namespaces.map(async (n) => ({ ...n, path: labNetnsPath(n.name), inode: (await netnsInode(labNetnsPath(n.name)))! })),
  );
  const meta: LabMetadata = {
    kind: 'mesh-trace-lab',
    version: 1,
    createdAt: new Date().toISOString(),
    lbMode: layout.lbMode,
    lbReason,
    nodes: layout.nodes,
    namespaces,
    interfaces: interfacesOf(layout),
    networks: layout.networks,
    services: layout.services,
    servers,
  };
  await writeLabMetadata(meta);
  return meta;
}

/** The client's request to node1's published port; returns nginx's reply. */
export async function labRequest(node = 'node1', port = LAB_PUBLISHED_PORT, timeoutSec = 3): Promise<string> {
  const layout = labLayout('iptables');
  const nd = layout.nodes.find((n) => n.name === node);
  if (!nd) throw new MeshTraceError('NOT_FOUND', `The lab has no node named ${node}.`, { hint: `Use one of: ${layout.nodes.map((n) => n.name).join(', ')}.` });
  // busybox nc rather than busybox wget, which crashes inside a namespace on some builds.
  const r = await runIn(labNetnsPath(layout.client.ns), ['busybox', 'nc', '-w', String(timeoutSec), nd.clientFacing, String(port)], {
    allowFailure: true,
    input: `GET / HTTP/1.0\r\nHost: ${nd.clientFacing}:${port}\r\n\r\n`,
    timeoutMs: (timeoutSec + 2) * 1000,
  });
  const sep = r.stdout.indexOf('\r\n\r\n');
  if (r.code === 0 && sep >= 0 && /^HTTP\/1\.\d 200/.test(r.stdout)) return r.stdout.slice(sep + 4);
  throw new MeshTraceError('KERNEL', `The lab's client got no reply from ${node}:${port}.`, {
      hint: 'Run `mesh-trace lab status`, then `mesh-trace lab down && mesh-trace lab up`.',
      detail: r.stderr || r.stdout,
    });
}

/**
 * Builds the lab; idempotent: when it is already up, it does nothing. A half-built lab
 * (an interrupted `up`) is removed first. On failure everything built so far is removed.
 */
export async function labUp(opts: { lbMode?: LbMode; check?: boolean } = {}): Promise<LabUpResult> {
  preflight();
  const before = await labStatus();
  if (before.up) return { ...before, built: false };
  if (before.namespaces.some((n) => n.present) || before.strays.length > 0) await labDown();
  const chosen = chooseLbMode();
  const mode = opts.lbMode ?? chosen.mode;
  const reason = opts.lbMode && opts.lbMode !== chosen.mode ? `forced by the caller (${chosen.reason})` : chosen.reason;
  try {
    await build(labLayout(mode), reason);
  } catch (err) {
    await labDown().catch(() => undefined);
    if (err instanceof CommandFailed)
      throw new MeshTraceError('KERNEL', `Building the lab failed: ${err.message}`, {
        hint: 'The lab needs veth, bridge and vxlan support and iptables; `mesh-trace lab down` cleans up any leftover.',
        cause: err,
      });
    throw err;
  }
  let check: string | undefined;
  if (opts.check !== false) {
    // The servers were just started: give them a moment to listen.
    let last: unknown;
    for (let i = 0; i < 20 && check === undefined; i++) {
      try {
        check = await labRequest('node1', LAB_PUBLISHED_PORT, 1);
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (check === undefined) throw last;
  }
  return { ...(await labStatus()), built: true, check };
}

/** Removes every lab namespace (and with them every device, rule and socket) and the lab's processes. */
export async function labDown(): Promise<{ removed: string[] }> {
  const names = await labNamespacesPresent();
  const meta = await readLabMetadata();
  const inodes = new Map<string, number | undefined>();
  await Promise.all(names.map(async (n) => inodes.set(n, await netnsInode(labNetnsPath(n)))));
  const labInodes = new Set([...inodes.values()].filter((i): i is number => i !== undefined));

  // Every process whose network namespace is a lab namespace: our servers, and anything a
  // user started with `lab exec`. Found by inode, so an unrelated reused pid is never hit.
  const victims: number[] = [];
  for (const pidStr of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pidStr)) continue;
    try {
      if (labInodes.has((await fs.stat(`/proc/${pidStr}/ns/net`)).ino)) victims.push(Number(pidStr));
    } catch {
      /* gone or not ours to see */
    }
  }
  for (const s of meta?.servers ?? []) if (!victims.includes(s.pid) && (await pidInNetns(s.pid, inodes.get(s.ns)))) victims.push(s.pid);
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 20 && victims.some(pidAlive); i++) await new Promise((r) => setTimeout(r, 50));
  for (const pid of victims.filter(pidAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  await Promise.all(names.map((n) => run('ip', ['netns', 'del', n], { allowFailure: true })));
  const left = await labNamespacesPresent();
  if (left.length > 0)
    throw new MeshTraceError('NETNS', `Could not remove the lab namespaces ${left.join(', ')}.`, { hint: 'Something still holds them; see `ip netns pids NAME`.' });
  await fs.rm(LAB_STATE_DIR, { recursive: true, force: true });
  return { removed: names };
}

/**
 * The lab namespace a user means: an ip-netns name (`mtlab-node2-nginx`), a node
 * (`node1`: its host namespace), `client`, a task or service (`nginx.1`, `nginx`), or
 * `NODE/NAME` (`node1/ingress-sbox`, `node2/1-ingress`).
 */
export function resolveLabTarget(target: string, layout: LabLayout = labLayout('iptables')): LabNamespace {
  const all = layout.namespaces;
  const byName = all.find((n) => n.name === target || n.name === `${LAB_PREFIX}${target}`);
  if (byName) return byName;
  const slash = target.indexOf('/');
  if (slash > 0) {
    const node = target.slice(0, slash);
    const what = target.slice(slash + 1);
    const hit = all.find((n) => n.node === node && (n.display === what || n.name === `${LAB_PREFIX}${node}-${what}` || (what === 'ingress_sbox' && n.role === 'ingress-sbox')));
    if (hit) return hit;
  } else {
    const node = all.find((n) => n.role === 'host' && n.node === target);
    if (node) return node;
    const matches = all.filter(
      (n) => n.display === target || n.container?.service === target || n.container?.name === target || (n.role === 'client' && target === 'client'),
    );
    if (matches.length === 1) return matches[0];
    if (matches.length > 1)
      throw new MeshTraceError('USAGE', `"${target}" names more than one lab namespace.`, {
        hint: `Say which node: ${matches.map((m) => `${m.node}/${m.display}`).join(', ')}.`,
      });
  }
  throw new MeshTraceError('NOT_FOUND', `The lab has no node or container named "${target}".`, {
    hint: `Use a node (node1, node2), client, a container (nginx, node, redis) or NODE/NAME such as node1/ingress-sbox.`,
  });
}

/** Runs argv inside a lab namespace (no shell). With stdio 'inherit' the output goes to ours. */
export async function labExec(target: string, argv: string[], opts: { stdio?: 'pipe' | 'inherit'; timeoutMs?: number } = {}): Promise<RunResult> {
  if (argv.length === 0) throw new MeshTraceError('USAGE', 'lab exec needs a command to run.', { hint: 'e.g. mesh-trace lab exec client busybox wget -qO- http://192.168.60.1:1080/' });
  const ns = resolveLabTarget(target);
  if (!existsSync(labNetnsPath(ns.name)))
    throw new MeshTraceError('NOT_FOUND', `The lab is not up (${ns.name} does not exist).`, { hint: 'Run `mesh-trace lab up` first.' });
  if (opts.stdio === 'inherit') {
    const { spawn } = await import('node:child_process');
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', [`--net=${labNetnsPath(ns.name)}`, '--', ...argv], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, sig) => resolve({ stdout: '', stderr: '', code: code ?? (sig ? 128 : 1) }));
    });
  }
  return runIn(labNetnsPath(ns.name), argv, { allowFailure: true, timeoutMs: opts.timeoutMs });
}
