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
