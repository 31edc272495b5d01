// Namespaces and devices a kernel test builds for itself, torn down whatever happens.
// Every name carries a prefix so a crashed run's leftovers are recognizable and removed
// by the next run. Traffic stays between these namespaces.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { NetnsRef } from '../../../src/topology/netns.js';

export function run(argv: string[], input?: string): string {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
}

export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

export class TestNet {
  readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(readonly prefix: string) {
    // a previous run that died leaves its namespaces: remove them first
    for (const ns of run(['ip', 'netns', 'list']).split('\n').map((l) => l.split(' ')[0])) {
      if (ns.startsWith(prefix)) run(['ip', 'netns', 'del', ns]);
    }
  }

  ns(name: string): string {
    const full = `${this.prefix}${name}`;
    run(['ip', 'netns', 'add', full]);
    this.namespaces.push(full);
    this.in(full, ['ip', 'link', 'set', 'lo', 'up']);
    return full;
  }

  in(ns: string, argv: string[]): string {
    return run(['ip', 'netns', 'exec', ns, ...argv]);
  }

  veth(nsA: string, devA: string, nsB: string, devB: string): void {
    run(['ip', 'link', 'add', devA, 'netns', nsA, 'type', 'veth', 'peer', 'name', devB, 'netns', nsB]);
    this.in(nsA, ['ip', 'link', 'set', devA, 'up']);
    this.in(nsB, ['ip', 'link', 'set', devB, 'up']);
  }

  addr(ns: string, dev: string, cidr: string): void {
    this.in(ns, ['ip', 'addr', 'add', cidr, 'dev', dev]);
  }

  ref(ns: string): NetnsRef {
    const path = `/run/netns/${ns}`;
    return { inode: statSync(path).ino, path, names: [ns], source: 'netns' };
  }

  refs(): NetnsRef[] {
    return this.namespaces.map((n) => this.ref(n));
  }

  /** (netns inode, ifindex) -> "ns/dev", from iproute2 (not from mesh-trace) */
  deviceNames(): Map<string, string> {
    const out = new Map<string, string>();
    for (const ns of this.namespaces) {
      const ino = statSync(`/run/netns/${ns}`).ino;
      for (const l of JSON.parse(run(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifindex: number; ifname: string }[]) {
        out.set(`${ino}:${l.ifindex}`, `${ns.slice(this.prefix.length)}/${l.ifname}`);
      }
    }
    return out;
  }

  /** a one-shot TCP server that answers "pong" to one connection */
  tcpServer(ns: string, addr: string, port: number): ChildProcess {
    const code = `import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((${JSON.stringify(addr)}, ${port})); s.listen(); print('ready', flush=True)
c,_=s.accept(); c.recv(100); c.sendall(b'pong'); c.close()`;
    const p = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(p);
    return p;
  }

  async ready(p: ChildProcess): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('server did not start')), 5000);
      p.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  }

  /** connect, send "ping", read the answer */
  tcpRequest(ns: string, addr: string, port: number): string {
    return this.in(ns, ['python3', '-c', `import socket
s=socket.create_connection((${JSON.stringify(addr)}, ${port}), timeout=3); s.sendall(b'ping'); print(s.recv(100).decode()); s.close()`]).trim();
  }

  /** a connection attempt that is refused (no listener): returns whether it was refused */
  tcpRefused(ns: string, addr: string, port: number): boolean {
    try {
      this.in(ns, ['python3', '-c', `import socket
socket.create_connection((${JSON.stringify(addr)}, ${port}), timeout=2)`]);
      return false;
    } catch {
      return true;
    }
  }

  destroy(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      try {
        run(['ip', 'netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  }
}
