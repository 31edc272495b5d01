// Namespaces for benchmarks: the project's own test hosts, nothing leaves them.
import { statSync } from 'node:fs';
import { sh } from './util.js';

export class BenchNet {
  constructor(prefix) {
    this.prefix = prefix;
    this.names = [];
    for (const l of sh(['ip', 'netns', 'list']).split('\n')) {
      const n = l.split(' ')[0];
      if (n.startsWith(prefix)) sh(['ip', 'netns', 'del', n]);
    }
  }
  ns(name) {
    const n = this.prefix + name;
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    this.names.push(n);
    return n;
  }
  /** two namespaces a and b joined by a veth pair, eth0 10.88.0.1 ↔ 10.88.0.2: the packet
   * path the veth benches measure */
  vethPair() {
    const a = this.ns('a'), b = this.ns('b');
    sh(['ip', 'link', 'add', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', '10.88.0.1/24', 'dev', 'eth0']);
    sh(['ip', '-n', b, 'addr', 'add', '10.88.0.2/24', 'dev', 'eth0']);
    for (const n of [a, b]) sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
    return [a, b];
  }
  ref(n) {
    const path = `/run/netns/${n}`;
    return { inode: statSync(path).ino, path, names: [n], source: 'netns' };
  }
  refs() {
    return this.names.map((n) => this.ref(n));
  }
  destroy() {
    for (const n of this.names.splice(0)) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {}
    }
  }
}
