// A live probe session: choose a rung per hook point, load the chosen programs once,
// attach them host-wide (tracepoints, fentry/kprobe), per namespace (netfilter) and per
// device in every namespace (tcx/clsact), follow namespaces and devices as they come and
// go, and hand out batches of records until close().
import { EventBatch } from '../events/decode.js';
import { encodeFilter, type FilterSpec } from '../events/filter.js';
import { RECORD_SIZE } from '../events/layout.js';
import { MeshTraceError } from '../errors.js';
import { listNetns, type NetnsRef } from '../topology/netns.js';
import { BatchQueue } from './batch-queue.js';
import { readKernelFacts, type KernelFacts } from './capabilities.js';
import { nativeError } from './errors.js';
import { HOOK_POINTS, type HookPoint, type RungKind } from './hook-points.js';
import { chooseAll, type LadderChoice } from './ladder.js';
import { loadAddon, type AttachJob, type NativeAddon, type NativeLink, type NativeLinkEvent, type NativeLinkWatcher, type NativeSession } from './native.js';
import { cachedRungProbe, nativeRungProbe } from './rung-probe.js';
import { ClsactLedger } from './clsact-ledger.js';
import { netfilterPresence } from './netfilter-presence.js';
import { mapLimit } from '../topology/kernel.js';

export interface DeviceRef {
  netns: number;
  netnsPath: string;
  ifindex: number;
  name: string;
  kind: string;
}

export interface ProbeSessionOptions {
  filter?: FilterSpec;
  /** --snaplen: packet bytes (from the IP header on) captured after each record; 0 = headers only */
  snaplen?: number;
  /** hook point ids to use (default: all of HOOK_POINTS) */
  hooks?: string[];
  /** rungs switched off: 'fentry', 'tcx', or 'veth-xmit:fentry' */
  disabledRungs?: string[];
  /** one rung forced per hook point, e.g. { 'veth-xmit': 'kprobe' } */
  forcedRungs?: Record<string, RungKind>;
  ringBytes?: number;
  batchRecords?: number;
  flushMs?: number;
  /** the namespaces to attach in (default: every namespace of the machine, followed live) */
  namespaces?: NetnsRef[];
  /** which devices get tc programs (default: every device but loopback) */
  deviceFilter?: (dev: DeviceRef) => boolean;
  /** follow new namespaces and devices (default true) */
  follow?: boolean;
  /** how often to look for new namespaces, ms (default 1000) */
  rescanMs?: number;
  /**
   * Which namespaces get netfilter links (the nat hook's netfilter rung): 'where-rules'
   * (default) only those where netfilter has tables or IPVS services
   * (netfilter-presence.ts), 'everywhere' every namespace. A namespace without rules is
   * looked at again when its devices change and every `netfilterRecheckMs` while the
   * session follows; a rewrite before its links arrive is still named from the device
   * hooks around it, as on kernels without netfilter links.
   */
  netfilterLinks?: 'where-rules' | 'everywhere';
  /** how often namespaces without rules are looked at again, ms (default 5000) */
  netfilterRecheckMs?: number;
  /**
   * tc attach mechanism for devices. tcx links are owned by their fd (nothing survives a
   * SIGKILL) but each attach and detach waits for an RCU grace period under the global
   * rtnl lock: ~9 ms per link here, 18 s for 1,000 veths. clsact filters take ~0.1 ms and
   * are removed through the ledger after a SIGKILL. 'auto' (default) uses tcx up to
   * TCX_AUTO_MAX_DEVICES devices at start, clsact beyond.
   */
  tcMode?: 'auto' | 'tcx' | 'clsact';
  /** programs loaded besides the chosen rungs (benchmarks) */
  extraPrograms?: string[];
  /**
   * Benchmarks only: load and attach these programs in place of the named ones, e.g.
   * { mt_tc_ingress: 'mt_floor_tc' } (bpf/floor.bpf.c), to measure the kernel's cost of
   * the same attach points apart from ours.
   */
  stubPrograms?: Record<string, string>;
  facts?: KernelFacts;
  /** called for every problem that does not stop the session (a device that vanished...) */
  onWarning?: (w: MeshTraceError) => void;
}

export interface SessionCounters {
  /** kernel side */
  emitted: number;
  ringFull: number;
  filtered: number;
  /** addon: records read from the ring, batches handed to JS, records dropped because JS lagged */
  read: number;
  batches: number;
  queueFull: number;
  delivered: number;
  /** records this build could not decode */
  unknownRecords: number;
  /** attach bookkeeping */
  devicesAttached: number;
  namespacesAttached: number;
  attachFailures: number;
  devicesVanished: number;
}

interface NetnsState {
  key: number;
  ref: NetnsRef;
  nfLinks: number[];
  /** netfilter links: wanted and asked for, not wanted yet (no rules), or being looked at */
  nf: 'attached' | 'no-rules' | 'checking';
  devices: Map<number, { dev: DeviceRef; links: number[] }>;
}

// Where a rewrite can happen, one link before and one after. INPUT and FORWARD need no
// "before": nothing between PREROUTING's "after" and them changes the packet, and a rule
// that drops there is seen by the drop tracepoint with its reason. Fewer links, less cost
// per packet in every namespace.
const NF_POINTS: { hooknum: number; prog: string; priority: number }[] = [
  // just before mangle (-150) and just after DNAT (-100)
  { hooknum: 0, prog: 'mt_nf_before', priority: -151 },
  { hooknum: 0, prog: 'mt_nf_after', priority: -99 },
  // INPUT: after the mangle MARK and the SNAT-on-input priority (100)
  { hooknum: 1, prog: 'mt_nf_after', priority: 101 },
  { hooknum: 3, prog: 'mt_nf_before', priority: -151 },
  { hooknum: 3, prog: 'mt_nf_after', priority: -99 },
  // just before and after SNAT/MASQUERADE (100)
  { hooknum: 4, prog: 'mt_nf_before', priority: 99 },
  { hooknum: 4, prog: 'mt_nf_after', priority: 101 },
];
const NFPROTO = [2 /* IPv4 */, 10 /* IPv6 */];
/** netfilter links in each namespace when the nat hook takes the netfilter rung */
export const NETFILTER_LINKS_PER_NETNS = NF_POINTS.length * NFPROTO.length;
export const TCX_AUTO_MAX_DEVICES = 100;
export const RING_BYTES = 16 << 20;

/**
 * How many records' worth of waiting data wakes the reader (bpf/common.h,
 * mt_wakeup_flags: once each time the waiting data crosses a multiple of it). The reader
 * polls every flushMs anyway, so the wakeup only has to keep the ring from filling between
 * two polls: an eighth of the ring (2 MB of the default 16 MB). Each wakeup costs the
 * packet's CPU microseconds here (irq_work, a self-IPI, waking the reader's thread); at a
 * quarter batch (256 records), as before, the 'everything traced' veth bench woke the reader
 * every ~0.4 ms and a record cost ~90 ns more under bpf_stats.
 */
export function wakeupRecords(ringBytes: number): number {
  return Math.max(1, Math.floor(ringBytes / 8 / RECORD_SIZE));
}
/** after a namespace's devices change, when to look whether netfilter rules came with them */
const NF_RECHECK_AFTER_DEVICES_MS = 500;

export function defaultDeviceFilter(dev: DeviceRef): boolean {
  return dev.name !== 'lo';
}

export class ProbeSession implements AsyncIterable<EventBatch> {
  readonly plan: LadderChoice[];
  readonly facts: KernelFacts;
  private readonly queue = new BatchQueue<EventBatch>();
  private readonly namespaces = new Map<number, NetnsState>(); // by inode
  private readonly byKey = new Map<number, NetnsState>();
  private nextKey = 1;
  private watcher?: NativeLinkWatcher;
  private rescanTimer?: NodeJS.Timeout;
  private nfRecheckTimer?: NodeJS.Timeout;
  private nfSoonTimer?: NodeJS.Timeout;
  private readonly nfSoon = new Set<NetnsState>();
  private closed = false;
  private ended: Promise<void>;
  private endResolve!: () => void;
  private unknownRecords = 0;
  private attachFailures = 0;
  private devicesVanished = 0;
  private pending: Promise<unknown> = Promise.resolve();
  /** the tc mechanism actually used for devices (the ladder's, or clsact in bulk) */
  private tcKind?: 'tcx' | 'clsact';
  private readonly ledger = new ClsactLedger();

  private constructor(
    private readonly addon: NativeAddon,
    private readonly native: NativeSession,
    plan: LadderChoice[],
    facts: KernelFacts,
    private readonly opts: ProbeSessionOptions,
  ) {
    this.plan = plan;
    this.facts = facts;
    this.ended = new Promise((r) => (this.endResolve = r));
  }

  /** Checks privileges and BTF, picks the rungs, loads, attaches everywhere, starts the stream. */
  static async open(opts: ProbeSessionOptions = {}): Promise<ProbeSession> {
    // bad filters are the user's mistake: say so before anything touches the kernel
    const rodata = encodeFilter(opts.filter ?? {}, { wakeupRecords: wakeupRecords(opts.ringBytes ?? RING_BYTES), snaplen: opts.snaplen });
    const facts = opts.facts ?? readKernelFacts();
    requireTracingPrerequisites(facts);
    const addon = loadAddon();
    await new ClsactLedger().removeStale(addon);
    const hooks: HookPoint[] = opts.hooks ? HOOK_POINTS.filter((h) => opts.hooks!.includes(h.id)) : HOOK_POINTS;
    if (opts.hooks) {
      const unknown = opts.hooks.filter((id) => !HOOK_POINTS.some((h) => h.id === id));
      if (unknown.length) throw new MeshTraceError('USAGE', `Unknown hook point ${unknown[0]}.`, { hint: `Known: ${HOOK_POINTS.map((h) => h.id).join(', ')}.` });
    }
    const plan = chooseAll(hooks, facts, cachedRungProbe(nativeRungProbe(addon)), { disabled: opts.disabledRungs, forced: opts.forcedRungs });
    const programs = new Set<string>(opts.extraPrograms ?? []);
    for (const c of plan) for (const p of c.chosen?.programs ?? []) programs.add(opts.stubPrograms?.[p] ?? p);

    let native: NativeSession;
    try {
      native = new addon.Session({
        programs: [...programs],
        rodata,
        ringBytes: opts.ringBytes ?? RING_BYTES,
        batchRecords: opts.batchRecords ?? 1024,
        flushMs: opts.flushMs ?? 4,
      });
    } catch (err) {
      throw nativeError(err as Error);
    }
    const s = new ProbeSession(addon, native, plan, facts, opts);
    try {
      s.startStream();
      s.attachHostWide();
      if (opts.follow !== false) s.watcher = new addon.LinkWatcher((events) => s.onLinkEvents(events));
      await s.attachNamespaces(opts.namespaces ?? (await listNetns()));
      if (opts.follow !== false) s.follow();
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  [Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    return this.queue[Symbol.asyncIterator]();
  }

  /** every chosen rung by hook, e.g. { 'device-ingress': 'tcx', 'veth-xmit': 'derived' } */
  rungs(): Record<string, string> {
    return Object.fromEntries(this.plan.map((c) => [c.hook, c.chosen?.kind ?? 'none']));
  }

  /** inodes of the namespaces attached so far */
  namespaceInodes(): number[] {
    return [...this.namespaces.keys()];
  }

  devices(): DeviceRef[] {
    return [...this.namespaces.values()].flatMap((n) => [...n.devices.values()].map((d) => d.dev));
  }

  linkCount(): number {
    return this.native.linkCount();
  }

  counters(): SessionCounters {
    const c = this.native.counters();
    return {
      emitted: c.emitted,
      ringFull: c.ringFull,
      filtered: c.filtered,
      read: c.read,
      batches: c.batches,
      queueFull: c.queueFull,
      delivered: c.delivered,
      unknownRecords: this.unknownRecords,
      devicesAttached: this.devices().length,
      namespacesAttached: this.namespaces.size,
      attachFailures: this.attachFailures,
      devicesVanished: this.devicesVanished,
    };
  }

  /** Resolves once every device and namespace seen so far has been attached. */
  async settled(): Promise<void> {
    let p: Promise<unknown>;
    do {
      p = this.pending;
      await p;
    } while (p !== this.pending);
  }

  /** Detaches everything and ends the stream after the last batch already read. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.ended;
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.nfRecheckTimer) clearInterval(this.nfRecheckTimer);
    if (this.nfSoonTimer) clearTimeout(this.nfSoonTimer);
    this.watcher?.close();
    await this.pending.catch(() => undefined);
    this.native.close(); // joins the poll thread, destroys every link, flushes the last batch
    this.ledger.forgetAll();
    // onEnd fires once the last queued batch was delivered; a session that never started
    // its stream ends now.
    setTimeout(() => this.endResolve(), 2000).unref();
    await this.ended;
    this.queue.end();
  }

  // ---- internals --------------------------------------------------------------------

  private startStream(): void {
    this.native.start(
      (buf, records, payload) => {
        const b = new EventBatch(buf, records, payload);
        this.unknownRecords += b.unknown;
        this.queue.push(b);
      },
      () => this.endResolve(),
    );
  }

  private attachHostWide(): void {
    for (const c of this.plan) {
      if (!c.chosen || !['tp_btf', 'fentry', 'kprobe'].includes(c.chosen.kind)) continue;
      for (const prog of c.chosen.programs) {
        try {
          this.native.attachTracing(this.program(prog));
        } catch (err) {
          throw nativeError(err as Error, `hook ${c.hook}`);
        }
      }
    }
  }

  private tcRung(dir: 'ingress' | 'egress'): { kind: 'tcx' | 'clsact'; prog: string } | undefined {
    const c = this.plan.find((p) => p.hook === `device-${dir}`);
    if (!c?.chosen) return undefined;
    return { kind: this.tcKind ?? (c.chosen.kind as 'tcx' | 'clsact'), prog: this.program(c.chosen.programs[0]) };
  }

  /** which tc mechanism devices get, decided once from how many there are at start */
  private decideTcKind(deviceCount: number): void {
    if (this.tcKind) return;
    const ingress = this.plan.find((p) => p.hook === 'device-ingress')?.chosen;
    const laddered = ingress?.kind as 'tcx' | 'clsact' | undefined;
    const mode = this.opts.tcMode ?? 'auto';
    if (mode === 'clsact' || (mode === 'auto' && laddered === 'tcx' && deviceCount > TCX_AUTO_MAX_DEVICES)) {
      const r = this.addon.probeProgram(ingress?.programs[0] ?? 'mt_tc_ingress', { attach: 'clsact' });
      if (r.ok) {
        this.tcKind = 'clsact';
        return;
      }
      if (mode === 'clsact') throw nativeError(r, 'clsact');
    }
    this.tcKind = laddered;
  }

  /** the tc mechanism devices were given ('tcx' or 'clsact'), once decided */
  tcMechanism(): string | undefined {
    return this.tcKind;
  }

  /** the program attached for `name`: itself, or its benchmark stand-in */
  private program(name: string): string {
    return this.opts.stubPrograms?.[name] ?? name;
  }

  /** a hook point got a rung that attaches programs (not derived from other hooks) */
  private sees(hook: string): boolean {
    return !!this.plan.find((p) => p.hook === hook)?.chosen?.programs.length;
  }

  private nfChosen(): boolean {
    return this.plan.some((p) => p.hook === 'nat' && p.chosen?.kind === 'netfilter');
  }

  /** the netfilter links of one namespace */
  private nfJobs(state: NetnsState): AttachJob[] {
    const jobs: AttachJob[] = [];
    for (const pf of NFPROTO) {
      for (const p of NF_POINTS) jobs.push({ kind: 'netfilter', prog: this.program(p.prog), netns: state.ref.path, pf, hooknum: p.hooknum, priority: p.priority });
    }
    return jobs;
  }

  /** Does this namespace get netfilter links now? Marks it so while looking. */
  private async nfWanted(state: NetnsState, devices: DeviceRef[]): Promise<boolean> {
    state.nf = 'checking';
    let inUse = true; // everywhere, or when looking failed: as if rules existed
    if ((this.opts.netfilterLinks ?? 'where-rules') === 'where-rules') {
      const bridge = devices.some((d) => d.kind === 'bridge') && !this.sees('bridge-in');
      inUse = await this.addon.netfilterState(state.ref.path).then((st) => netfilterPresence(st, { bridge }).inUse, () => true);
    }
    state.nf = inUse ? 'attached' : 'no-rules';
    return inUse;
  }

  /** Namespaces that had no rules: attach their netfilter links once rules appear. */
  private async recheckNetfilter(states: NetnsState[]): Promise<void> {
    const todo = states.filter((st) => st.nf === 'no-rules' && this.namespaces.get(st.ref.inode) === st);
    if (this.closed || !todo.length || !this.nfChosen()) return;
    const wanted = await mapLimit(todo, 4, (st) => this.nfWanted(st, [...st.devices.values()].map((d) => d.dev)));
    const jobs: AttachJob[] = [];
    const owners: { state: NetnsState; dev?: DeviceRef }[] = [];
    todo.forEach((st, i) => {
      if (!wanted[i] || this.namespaces.get(st.ref.inode) !== st) return;
      for (const j of this.nfJobs(st)) {
        jobs.push(j);
        owners.push({ state: st });
      }
    });
    if (jobs.length) await this.enqueue(() => this.runJobs(jobs, owners));
  }

  private deviceJobs(dev: DeviceRef): AttachJob[] {
    const jobs: AttachJob[] = [];
    for (const dir of ['ingress', 'egress'] as const) {
      const r = this.tcRung(dir);
      if (r) jobs.push({ kind: r.kind, prog: r.prog, netns: dev.netnsPath, ifindex: dev.ifindex, dir });
    }
    return jobs;
  }

  private wantDevice(dev: DeviceRef): boolean {
    return (this.opts.deviceFilter ?? defaultDeviceFilter)(dev);
  }

  /** Serializes attach work so close() can wait for it and counts stay consistent. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.pending.then(fn, fn);
    this.pending = p.catch(() => undefined);
    return p;
  }

  private attachNamespaces(refs: NetnsRef[]): Promise<void> {
    return this.enqueue(async () => {
      const fresh = refs.filter((r) => !this.namespaces.has(r.inode));
      const listed: { state: NetnsState; devices: DeviceRef[] }[] = [];
      for (const ref of fresh) {
        const key = this.nextKey++;
        // subscribe before listing, so a device born in between is not missed
        if (this.watcher) {
          try {
            this.watcher.add(key, ref.path);
          } catch {
            /* entering failed: listLinks below says why */
          }
        }
        let links: NativeLink[];
        try {
          links = await this.addon.listLinks(ref.path);
        } catch (err) {
          // a namespace that vanished between listing and entering is not an error
          this.watcher?.remove(key);
          this.warn(nativeError(err as Error, `namespace ${ref.names[0] ?? ref.inode}`));
          continue;
        }
        const state: NetnsState = { key, ref, nfLinks: [], nf: 'checking', devices: new Map() };
        this.namespaces.set(ref.inode, state);
        this.byKey.set(state.key, state);
        const devices = links
          .map((l) => ({ netns: ref.inode, netnsPath: ref.path, ifindex: l.ifindex, name: l.name, kind: l.kind }))
          .filter((d) => this.wantDevice(d));
        listed.push({ state, devices });
      }
      this.decideTcKind(listed.reduce((n, l) => n + l.devices.length, 0));
      // asking each namespace whether netfilter has rules spawns programs: done while the
      // devices attach, not before
      const nfAsked = this.nfChosen() ? mapLimit(listed, 4, ({ state, devices }) => this.nfWanted(state, devices)) : Promise.resolve([]);
      const jobs: AttachJob[] = [];
      const owners: { state: NetnsState; dev?: DeviceRef }[] = [];
      for (const { state, devices } of listed) {
        for (const dev of devices) {
          state.devices.set(dev.ifindex, { dev, links: [] });
          for (const j of this.deviceJobs(dev)) {
            jobs.push(j);
            owners.push({ state, dev });
          }
        }
      }
      await this.runJobs(jobs, owners);
      const nf = await nfAsked;
      const nfJobs: AttachJob[] = [];
      const nfOwners: { state: NetnsState }[] = [];
      listed.forEach(({ state }, i) => {
        if (!nf[i]) return;
        for (const j of this.nfJobs(state)) {
          nfJobs.push(j);
          nfOwners.push({ state });
        }
      });
      await this.runJobs(nfJobs, nfOwners);
    });
  }

  private async runJobs(jobs: AttachJob[], owners: { state: NetnsState; dev?: DeviceRef }[]): Promise<void> {
    if (jobs.length === 0 || this.closed) return;
    const results = await this.native.attachBatch(jobs);
    const clsact: { ref: NetnsRef; job: AttachJob }[] = [];
    results.forEach((r, i) => {
      const { state, dev } = owners[i];
      const job = jobs[i];
      if (r.ok) {
        if (job.kind === 'clsact') clsact.push({ ref: state.ref, job });
        if (!dev) {
          state.nfLinks.push(r.linkId);
        } else {
          const entry = state.devices.get(dev.ifindex) ?? { dev, links: [] };
          entry.links.push(r.linkId);
          state.devices.set(dev.ifindex, entry);
        }
        return;
      }
      if (dev && !state.devices.get(dev.ifindex)?.links.length) state.devices.delete(dev.ifindex);
      if (r.code === 'ENODEV' || r.code === 'ENXIO' || (r.code === 'ENOENT' && dev)) {
        this.devicesVanished++;
        return;
      }
      this.attachFailures++;
      this.warn(nativeError(r, dev ? `${dev.name} in ${state.ref.names[0] ?? state.ref.inode}` : `namespace ${state.ref.names[0] ?? state.ref.inode}`));
    });
    this.ledger.record(clsact);
  }

  /** new namespaces: rescanned (devices in known namespaces arrive through the watcher) */
  private follow(): void {
    if (this.nfChosen() && (this.opts.netfilterLinks ?? 'where-rules') === 'where-rules') {
      this.nfRecheckTimer = setInterval(() => void this.recheckNetfilter([...this.namespaces.values()]), this.opts.netfilterRecheckMs ?? 5000);
      this.nfRecheckTimer.unref();
    }
    if (this.opts.namespaces) return; // a fixed set: no new namespaces
    this.rescanTimer = setInterval(() => void this.rescan(), this.opts.rescanMs ?? 1000);
    this.rescanTimer.unref();
  }

  private async rescan(): Promise<void> {
    if (this.closed) return;
    let refs: NetnsRef[];
    try {
      refs = await listNetns();
    } catch {
      return;
    }
    const live = new Set(refs.map((r) => r.inode));
    for (const [inode, state] of this.namespaces) {
      if (live.has(inode)) continue;
      this.namespaces.delete(inode);
      this.byKey.delete(state.key);
      this.watcher?.remove(state.key);
      const ids = [...state.nfLinks, ...[...state.devices.values()].flatMap((d) => d.links)];
      if (ids.length) this.native.detach(ids);
    }
    if (refs.some((r) => !this.namespaces.has(r.inode))) await this.attachNamespaces(refs);
  }

  private onLinkEvents(events: NativeLinkEvent[]): void {
    if (this.closed) return;
    const jobs: AttachJob[] = [];
    const owners: { state: NetnsState; dev?: DeviceRef }[] = [];
    const changed = new Set<NetnsState>();
    for (const e of events) {
      const state = this.byKey.get(e.key);
      if (!state) continue;
      changed.add(state);
      const known = state.devices.get(e.ifindex);
      if (e.event === 'del') {
        if (known) {
          state.devices.delete(e.ifindex);
          this.native.detach(known.links);
        }
        continue;
      }
      if (known) continue; // a state change of a device already attached
      const dev: DeviceRef = { netns: state.ref.inode, netnsPath: state.ref.path, ifindex: e.ifindex, name: e.name, kind: e.kind };
      if (!this.wantDevice(dev)) continue;
      state.devices.set(e.ifindex, { dev, links: [] }); // claimed: repeated NEWLINKs attach once
      for (const j of this.deviceJobs(dev)) {
        jobs.push(j);
        owners.push({ state, dev });
      }
    }
    if (jobs.length) void this.enqueue(() => this.runJobs(jobs, owners));
    // whoever sets up a namespace's devices (dockerd, CNI) sets up its rules around then
    // too: looked at a moment later, once, so the devices attach first
    for (const st of changed) this.nfSoon.add(st);
    if (this.nfSoon.size && !this.nfSoonTimer) {
      this.nfSoonTimer = setTimeout(() => {
        this.nfSoonTimer = undefined;
        const states = [...this.nfSoon];
        this.nfSoon.clear();
        void this.recheckNetfilter(states);
      }, NF_RECHECK_AFTER_DEVICES_MS);
      this.nfSoonTimer.unref();
    }
  }

  private warn(w: MeshTraceError): void {
    this.opts.onWarning?.(w);
  }
}

/** One clear sentence when this process or kernel cannot trace at all. */
export function requireTracingPrerequisites(facts: KernelFacts): void {
  if (!facts.privileged) {
    throw new MeshTraceError('EPERM', 'mesh-trace needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN) to load BPF programs and enter namespaces.', {
      hint: 'Run it with sudo.',
    });
  }
  if (!facts.btf) {
    throw new MeshTraceError('NO_BTF', 'This kernel has no BTF (/sys/kernel/btf/vmlinux is missing), which mesh-trace\'s CO-RE programs need.', {
      hint: 'Use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, Fedora and RHEL kernels are).',
    });
  }
}
