// The typed handle on the native addon (build/Release/mesh_trace.node). The addon moves
// bytes and attaches programs; everything that interprets them lives in TypeScript.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../version.js';
import { MeshTraceError } from '../errors.js';

export interface NativeFailure {
  ok: false;
  code: string;
  errno: number;
  op: string;
  message: string;
  log?: string;
}
export type NativeResult = { ok: true } | NativeFailure;
export type AttachResult = { ok: true; linkId: number } | NativeFailure;

export interface AttachJob {
  kind: 'tcx' | 'clsact' | 'netfilter';
  prog: string;
  /** a path setns() can open; '' = the current namespace */
  netns: string;
  ifindex?: number;
  dir?: 'ingress' | 'egress';
  pf?: number;
  hooknum?: number;
  priority?: number;
}

export interface NativeCounters {
  emitted: number;
  ringFull: number;
  filtered: number;
  parseShort: number;
  read: number;
  batches: number;
  queueFull: number;
  shortRecords: number;
  delivered: number;
}

export interface NativeSession {
  programs(): { name: string; section: string; loaded: boolean }[];
  attachTracing(name: string): number;
  attachBatch(jobs: AttachJob[]): Promise<AttachResult[]>;
  detach(ids: number | number[]): void;
  linkCount(): number;
  /** payload: the --snaplen bytes that followed the batch's records, in record order (absent when none did) */
  start(onBatch: (buf: Buffer, records: number, payload?: Buffer) => void, onEnd: () => void, maxQueuedBatches?: number): void;
  counters(): NativeCounters;
  benchProduce(total: number, chunk: number, window: number): Promise<{ produced: number; dropped: number }>;
  close(): void;
}

export interface NativeLink {
  ifindex: number;
  name: string;
  kind: string;
  master: number;
  up: boolean;
  loopback: boolean;
}

export interface NativeLinkEvent extends NativeLink {
  key: number;
  event: 'new' | 'del';
}

export interface NativeLinkWatcher {
  add(key: number, netnsPath: string): void;
  remove(key: number): void;
  close(): void;
}

export interface RecordLayout {
  version: number;
  size: number;
  event: Record<string, number>;
  headers: Record<string, number>;
  headersSize: number;
  filter: Record<string, number>;
  filterSize: number;
  maxNetns: number;
  snaplenMax: number;
}

export interface NativeNetfilterState {
  /** nftables tables of every family (iptables-nft's included) */
  nftTables: number;
  /** legacy iptables tables (ip_tables_names, ip6_tables_names) */
  legacyTables: string[];
  /** IPVS services (/proc/net/ip_vs) */
  ipvsServices: number;
  /** bridged frames cross netfilter here (bridge-nf-call-ip(6)tables = 1) */
  bridgeNfCall: boolean;
}

export interface NativeAddon {
  Session: new (opts: {
    programs: string[];
    rodata?: Buffer;
    ringBytes?: number;
    batchRecords?: number;
    flushMs?: number;
  }) => NativeSession;
  LinkWatcher: new (onEvents: (events: NativeLinkEvent[]) => void) => NativeLinkWatcher;
  probeProgram(name: string, opts?: { attach?: 'auto' | 'load' | 'tcx' | 'clsact' | 'netfilter' }): NativeResult;
  listLinks(netnsPath: string): Promise<NativeLink[]>;
  /** what netfilter holds in a namespace (native/netfilter_state.cc) */
  netfilterState(netnsPath: string): Promise<NativeNetfilterState>;
  recordLayout(): RecordLayout;
  removeClsact(netnsPath: string, ifindex: number, dir: 'ingress' | 'egress'): NativeResult;
}

let cached: NativeAddon | undefined;

export function addonPath(): string {
  return join(packageRoot, 'build', 'Release', 'mesh_trace.node');
}

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const p = addonPath();
  if (!existsSync(p)) {
    throw new MeshTraceError('LOAD', 'The native addon is not built.', {
      hint: 'Run `bash scripts/install.sh` as root (or `npm run build`) in the mesh-trace folder.',
    });
  }
  try {
    cached = createRequire(import.meta.url)(p) as NativeAddon;
  } catch (err) {
    throw new MeshTraceError('LOAD', `The native addon failed to load: ${(err as Error).message}.`, {
      hint: 'Is libbpf1 installed? Rebuild with `npm run build`.',
      cause: err,
    });
  }
  return cached;
}
