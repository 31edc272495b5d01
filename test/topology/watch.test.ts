// Live updates: a namespace and its devices appear and vanish; the watcher says so (with
// what the probe engine needs: netns inode and path, ifindex, name, kind) and refreshes
// its snapshot. Its monitors must not keep a deleted namespace alive.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchTopology, type TopologyEvent, type TopologyWatcher } from '../../src/topology/index.js';

const NS = 'mtt-watch';
const isRoot = process.getuid?.() === 0;

async function until<T>(what: string, f: () => T | undefined, ms = 8000): Promise<T> {
  const t = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!isRoot)('watchTopology', () => {
  let w: TopologyWatcher;
  const events: TopologyEvent[] = [];
  beforeAll(async () => {
    w = watchTopology({ docker: [], pollMs: 300 });
    w.on('change', (e: TopologyEvent) => events.push(e));
    w.on('error', () => undefined);
    await w.ready();
  });
  afterAll(async () => {
    await w?.close();
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  });

  it('takes a first snapshot and knows the host namespace', () => {
    expect(w.snapshot?.version).toBe(1);
    expect(w.namespaces.some((n) => n.source === 'host')).toBe(true);
  });

  it('reports a new namespace, then devices added and removed in it', async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    const inode = statSync(`/run/netns/${NS}`).ino;
    await until('netns-added', () => events.find((e) => e.type === 'netns-added' && e.inode === inode));
    execFileSync('ip', ['-n', NS, 'link', 'add', 'wa0', 'type', 'veth', 'peer', 'name', 'wb0']);
    const added = await until('device-added', () => events.find((e) => e.type === 'device-added' && e.netnsInode === inode && e.name === 'wa0'));
    expect(added).toMatchObject({ kind: 'veth', netnsPath: `/run/netns/${NS}` });
    const snap = await until('a refreshed snapshot', () => w.snapshot?.netns.find((n) => n.inode === inode)?.devices.find((d) => d.name === 'wa0'));
    expect(snap.peer?.netnsInode).toBe(inode);
    execFileSync('ip', ['-n', NS, 'link', 'del', 'wa0']);
    await until('device-removed', () => events.find((e) => e.type === 'device-removed' && e.netnsInode === inode && e.name === 'wa0'));
  });

  it('reports the namespace gone and lets the kernel free it', async () => {
    const inode = statSync(`/run/netns/${NS}`).ino;
    execFileSync('ip', ['netns', 'del', NS]);
    await until('netns-removed', () => events.find((e) => e.type === 'netns-removed' && e.inode === inode));
    // nothing of ours still sits in it
    await until('the monitor to leave', () => !w.namespaces.some((n) => n.inode === inode) || undefined);
    const holders = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return statSync(`/proc/${p}/ns/net`).ino === inode;
          } catch {
            return false;
          }
        });
    await until('no process left in the namespace', () => holders().length === 0 || undefined);
  });
});
