// Legacy clsact filters are not owned by a file descriptor: a killed process leaves them
// in the kernel. Each session writes what it attached to /run/mesh-trace/clsact/<pid>.json;
// the next start removes the filters of every ledger whose process is gone.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsRef } from '../topology/netns.js';
import { listNetns } from '../topology/netns.js';
import type { AttachJob, NativeAddon } from './native.js';

interface Entry {
  netnsInode: number;
  netnsPath: string;
  ifindex: number;
  dir: 'ingress' | 'egress';
}

export const LEDGER_DIR = process.env.MESH_TRACE_STATE_DIR ?? '/run/mesh-trace/clsact';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ClsactLedger {
  private entries: Entry[] = [];
  private readonly file = join(LEDGER_DIR, `${process.pid}.json`);

  /** every filter of one attach batch, written once (not once per filter) */
  record(attached: { ref: NetnsRef; job: AttachJob }[]): void {
    if (attached.length === 0) return;
    for (const { ref, job } of attached) {
      this.entries.push({ netnsInode: ref.inode, netnsPath: ref.path, ifindex: job.ifindex ?? 0, dir: job.dir ?? 'ingress' });
    }
    mkdirSync(LEDGER_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(this.file, JSON.stringify(this.entries));
  }

  /** the session detached its filters itself */
  forgetAll(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    rmSync(this.file, { force: true });
  }

  /** Removes what dead sessions left; returns how many filters were removed. */
  async removeStale(addon: NativeAddon): Promise<number> {
    let files: string[];
    try {
      files = readdirSync(LEDGER_DIR).filter((f) => /^\d+\.json$/.test(f));
    } catch {
      return 0;
    }
    const stale = files.filter((f) => !alive(Number(f.slice(0, -5))));
    if (stale.length === 0) return 0;
    const byInode = new Map((await listNetns({ proc: true })).map((r) => [r.inode, r.path]));
    let removed = 0;
    for (const f of stale) {
      let entries: Entry[] = [];
      try {
        entries = JSON.parse(readFileSync(join(LEDGER_DIR, f), 'utf8')) as Entry[];
      } catch {
        /* a torn ledger: nothing to learn from it */
      }
      for (const e of entries) {
        // the recorded path may have been the dead process's own /proc entry
        const path = byInode.get(e.netnsInode);
        if (!path) continue; // the namespace is gone, and its filters with it
        if (addon.removeClsact(path, e.ifindex, e.dir).ok) removed++;
      }
      rmSync(join(LEDGER_DIR, f), { force: true });
    }
    return removed;
  }
}
