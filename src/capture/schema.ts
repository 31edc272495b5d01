// The capture file's messages, from proto/capture.proto (loaded once, at first use): the
// schema file is the definition, this module only gives its messages TypeScript shapes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../version.js';
import { MeshTraceError } from '../errors.js';
import protobuf from 'protobufjs';
import type { SessionCounters } from '../probe/session.js';

export interface ClockReference {
  clock: string;
  monotonicNs: number;
  wallNs: number;
}

export interface HeaderMsg {
  formatVersion: number;
  eventVersion: number;
  recordSize: number;
  host: string;
  kernel: string;
  toolVersion: string;
  clock: ClockReference;
  filter: { port?: number; proto?: string; host?: string; netns?: number[] };
  snaplen: number;
  argv: string[];
  dropReasons: Record<number, string>;
}

export interface TopologyMsg {
  topologyVersion: number;
  encoding: string;
  snapshot: Uint8Array;
  monotonicNs: number;
}

export interface BatchMsg {
  clock: string;
  count: number;
  records: Uint8Array;
  /** --snaplen bytes of the records, in order (empty without) */
  payload?: Uint8Array;
}

export interface TickMsg {
  clock: string;
  nowNs: number;
}

/** the probe session's counters (proto/capture.proto's Counters mirrors them), stamped */
export type CountersMsg = SessionCounters & { monotonicNs: number };

export interface EndMsg {
  monotonicNs: number;
  reason: string;
  counters?: CountersMsg;
}

export type FrameMsg =
  | { header: HeaderMsg }
  | { topology: TopologyMsg }
  | { batch: BatchMsg }
  | { tick: TickMsg }
  | { counters: CountersMsg }
  | { end: EndMsg };

let frameType: protobuf.Type | undefined;

/** proto/ sits at the package root (src/ in tests, dist/ installed) */
export function schemaPath(): string {
  return join(packageRoot, 'proto', 'capture.proto');
}

/** the Frame type; a schema that cannot be read is the installation's fault, said as such
 * (not as damage in whatever capture was being read or written) */
export function frameSchema(): protobuf.Type {
  if (!frameType) {
    const path = schemaPath();
    try {
      frameType = protobuf.parse(readFileSync(path, 'utf8'), { keepCase: false }).root.lookupType('meshtrace.capture.Frame');
    } catch (err) {
      throw new MeshTraceError('INTERNAL', `mesh-trace's capture schema ${path} cannot be read (${(err as Error).message}), so the installation is incomplete.`, {
        hint: 'Install mesh-trace again: proto/ belongs beside dist/ and bin/, as in its checkout.',
      });
    }
  }
  return frameType;
}

export function encodeFrame(frame: FrameMsg): Uint8Array {
  const t = frameSchema();
  return t.encode(t.fromObject(frame)).finish();
}

/** throws protobufjs's own error for bytes that are not a Frame */
export function decodeFrame(bytes: Uint8Array): FrameMsg {
  const t = frameSchema();
  // defaults: absent scalars read as 0/"" (proto3), so readers need no undefined checks
  return t.toObject(t.decode(bytes), { defaults: true, arrays: true, oneofs: false }) as FrameMsg;
}
