// Live updates: namespaces appearing and vanishing (the netns folders watched, /proc
// polled), devices added and removed in each (netlink link events through `ip monitor
// link`, one per namespace, spawned without a shell), and Docker events; after each
// burst of changes the snapshot is taken again.
//
// A monitor process sits inside its namespace and so keeps it alive: a namespace that
// nothing else holds any more (no file, no other process) is taken as gone, its monitor is
// stopped, and the kernel frees it.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { DockerClient } from '../docker/client.js';
import { runIn } from './exec.js';
import { collectTopology, DEFAULT_DOCKER_SOCKET, type CollectOptions } from './collect.js';
import type { DeviceKind, TopologySnapshot } from './model.js';
import { listNetns, type NetnsRef } from './netns.js';
import { deviceKind } from './parse.js';

export type TopologyEvent =
  | { type: 'netns-added'; inode: number; path: string; names: string[] }
  | { type: 'netns-removed'; inode: number; path: string; names: string[] }
  | { type: 'device-added'; netnsInode: number; netnsPath: string; ifindex: number; name: string; kind: DeviceKind }
  | { type: 'device-removed'; netnsInode: number; netnsPath: string; ifindex: number; name: string; kind: DeviceKind }
  | { type: 'docker'; socket: string; kind: string; action: string; id: string; name?: string };

export interface WatchOptions extends CollectOptions {
  /** how often /proc is rescanned for namespaces (ms, default 1000) */
  pollMs?: number;
  /** take snapshots (default true): the first before `ready`, then one after each burst */
  snapshots?: boolean;
}

/**
 * Events: 'change' (TopologyEvent) for each change; 'snapshot' (TopologySnapshot) after
 * each burst; 'ready' once everything is watched; 'error' (Error) for what could not be
 * watched (the watcher goes on).
 */
export interface TopologyWatcher extends EventEmitter {
  /** the latest snapshot (after 'ready') */
  readonly snapshot: TopologySnapshot | undefined;
  /** the namespaces known now */
  readonly namespaces: NetnsRef[];
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Dev {
  ifindex: number;
  name: string;
  kind: DeviceKind;
}

class Watcher extends EventEmitter implements TopologyWatcher {
  snapshot: TopologySnapshot | undefined;
  private known = new Map<number, NetnsRef>();
  private devs = new Map<number, Map<number, Dev>>();
  private monitors = new Map<number, ChildProcess>();
  private rescans = new Map<number, NodeJS.Timeout>();
  private fsWatchers: FSWatcher[] = [];
  private poll?: NodeJS.Timeout;
  private snapTimer?: NodeJS.Timeout;
  private abort = new AbortController();
  private closed = false;
  private scanning?: Promise<void>;
  private rescanAgain = false;
  private readyP: Promise<void>;

  constructor(private opts: WatchOptions) {
    super();
    this.readyP = this.start();
    this.readyP.catch((e) => this.emit('error', e));
  }

  get namespaces(): NetnsRef[] {
    return [...this.known.values()];
  }

  ready(): Promise<void> {
    return this.readyP;
  }

  private async start(): Promise<void> {
    await this.scanNamespaces();
    for (const dir of ['/run/netns', '/var/run/docker/netns', ...(this.opts.extraDirs ?? []), ...(this.opts.dockerDirs ?? [])]) {
      try {
        const w = watch(dir, () => this.requestScan());
        w.on('error', () => undefined);
        this.fsWatchers.push(w);
      } catch {
        /* folder absent: /proc polling still sees its namespaces */
      }
    }
    this.poll = setInterval(() => this.requestScan(), this.opts.pollMs ?? 1000);
    this.poll.unref();
    for (const socket of this.opts.docker ?? [DEFAULT_DOCKER_SOCKET]) this.watchDocker(socket);
    if (this.opts.snapshots !== false) this.snapshot = await collectTopology({ ...this.opts, excludePids: this.monitorPids() });
  }

  private monitorPids(): Set<number> {
    return new Set([...this.monitors.values()].map((m) => m.pid).filter((p): p is number => p !== undefined));
  }

  private requestScan(): void {
    if (this.closed) return;
    if (this.scanning) {
      this.rescanAgain = true;
      return;
    }
    this.scanning = this.scanNamespaces()
      .catch((e) => {
        this.emit('error', e);
      })
      .finally(() => {
        this.scanning = undefined;
        if (this.rescanAgain) {
          this.rescanAgain = false;
          this.requestScan();
        }
      });
  }

  private async scanNamespaces(): Promise<void> {
    const now = await listNetns({ ...this.opts, excludePids: this.monitorPids() });
    if (this.closed) return;
    const seen = new Set(now.map((n) => n.inode));
    for (const [inode, ref] of this.known) {
      if (seen.has(inode)) continue;
      this.known.delete(inode);
      this.stopMonitor(inode);
      for (const d of this.devs.get(inode)?.values() ?? []) this.change({ type: 'device-removed', netnsInode: inode, netnsPath: ref.path, ...d });
      this.devs.delete(inode);
      this.change({ type: 'netns-removed', inode, path: ref.path, names: ref.names });
    }
    for (const ref of now) {
      if (this.known.has(ref.inode)) continue;
      this.known.set(ref.inode, ref);
      this.devs.set(ref.inode, new Map());
      this.change({ type: 'netns-added', inode: ref.inode, path: ref.path, names: ref.names });
      this.startMonitor(ref);
      await this.scanDevices(ref.inode);
    }
  }

  private startMonitor(ref: NetnsRef): void {
    const argv = ['ip', '-oneline', 'monitor', 'link'];
    const child = ref.source === 'host' ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }) : spawn('nsenter', [`--net=${ref.path}`, '--', ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout?.on('data', () => this.scheduleDevices(ref.inode));
    child.on('error', (e) => this.emit('error', e));
    child.on('exit', () => {
      if (this.monitors.get(ref.inode) === child) this.monitors.delete(ref.inode);
      if (!this.closed) this.requestScan();
    });
    this.monitors.set(ref.inode, child);
  }

  private stopMonitor(inode: number): void {
    const m = this.monitors.get(inode);
    this.monitors.delete(inode);
    if (m && m.exitCode === null) m.kill('SIGTERM');
  }

  private scheduleDevices(inode: number): void {
    if (this.rescans.has(inode)) return;
    this.rescans.set(
      inode,
      setTimeout(() => {
        this.rescans.delete(inode);
        this.scanDevices(inode).catch((e) => this.emit('error', e));
      }, 30),
    );
  }

  private async scanDevices(inode: number): Promise<void> {
    const ref = this.known.get(inode);
    if (!ref) return;
    const r = await runIn(ref.source === 'host' ? undefined : ref.path, ['ip', '-json', '-details', 'link', 'show'], { allowFailure: true });
    if (r.code !== 0 || this.closed || !this.known.has(inode)) return;
    const cur = new Map<number, Dev>();
    for (const l of JSON.parse(r.stdout || '[]') as { ifindex: number; ifname: string }[]) cur.set(l.ifindex, { ifindex: l.ifindex, name: l.ifname, kind: deviceKind(l).kind });
    const old = this.devs.get(inode) ?? new Map<number, Dev>();
    for (const [i, d] of old) if (!cur.has(i) || cur.get(i)!.name !== d.name) this.change({ type: 'device-removed', netnsInode: inode, netnsPath: ref.path, ...d });
    for (const [i, d] of cur) if (!old.has(i) || old.get(i)!.name !== d.name) this.change({ type: 'device-added', netnsInode: inode, netnsPath: ref.path, ...d });
    this.devs.set(inode, cur);
  }

  private watchDocker(socket: string): void {
    const client = new DockerClient(socket);
    const loop = async (): Promise<void> => {
      while (!this.closed) {
        try {
          await client.events(
            (e) => {
              if (e.Type !== 'container' && e.Type !== 'network' && e.Type !== 'service') return;
              this.change({ type: 'docker', socket, kind: e.Type, action: e.Action, id: e.Actor.ID, ...(e.Actor.Attributes?.name ? { name: e.Actor.Attributes.name } : {}) });
              this.requestScan();
            },
            this.abort.signal,
          );
        } catch {
          /* no Docker there (yet): try again later */
        }
        if (!this.closed) await new Promise((r) => setTimeout(r, 2000).unref());
      }
    };
    void loop();
  }

  private change(e: TopologyEvent): void {
    this.emit('change', e);
    if (this.opts.snapshots === false || this.snapshot === undefined) return;
    clearTimeout(this.snapTimer);
    this.snapTimer = setTimeout(() => {
      collectTopology({ ...this.opts, excludePids: this.monitorPids() })
        .then((s) => {
          if (this.closed) return;
          this.snapshot = s;
          this.emit('snapshot', s);
        })
        .catch((err) => this.emit('error', err));
    }, 200);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    clearInterval(this.poll);
    clearTimeout(this.snapTimer);
    for (const t of this.rescans.values()) clearTimeout(t);
    for (const w of this.fsWatchers) w.close();
    const exits = [...this.monitors.values()].filter((m) => m.exitCode === null).map((m) => new Promise((r) => m.once('exit', r)));
    for (const inode of [...this.monitors.keys()]) this.stopMonitor(inode);
    await Promise.all(exits);
    await this.scanning?.catch(() => undefined);
  }
}

export function watchTopology(opts: WatchOptions = {}): TopologyWatcher {
  return new Watcher(opts);
}


