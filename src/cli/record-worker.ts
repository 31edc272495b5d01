// The thread of record-thread.ts: finished flows in (record-wire.ts), in the order the
// correlator finished them, with the topology snapshots between them; their records built,
// filtered (--container, --service, --netns), numbered and printed, as the replay's own
// thread would have. It writes to the descriptor itself (FlowOutput in blocking mode) and
// tells the replay through shared memory how far it got and when output is done.
import { workerData, type MessagePort } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { FlowRecordBuilder } from '../correlate/flow-record.js';
import { FlowGate } from '../correlate/flow-filter.js';
import { resolverNamer } from '../correlate/namer.js';
import { readWire, wireBuffers, type WireFlows } from '../correlate/record-wire.js';
import type { MeshTraceError } from '../errors.js';
import { dropReasonsFrom } from '../probe/btf-enum.js';
import { createResolver, type Resolver } from '../topology/resolver.js';
import type { TopologySnapshot } from '../topology/model.js';
import { FlowOutput } from './flow-output.js';
import { style } from './style.js';
import { DONE, FINISHED, STOP, type RecordThreadMessage, type RecordWorkerSetup } from './record-thread.js';

const setup = workerData as RecordWorkerSetup;
const port = setup.port as MessagePort;
const state = new Int32Array(setup.shared);
const wall = (mono: number): number => setup.clock.wallNs + (mono - setup.clock.monotonicNs);

let resolver: Resolver | undefined;
const gate = new FlowGate(setup.flows);
const builder = new FlowRecordBuilder({ namer: resolverNamer(() => resolver, dropReasonsFrom(setup.dropReasons)), wallClock: (_c, ns) => wall(ns) });
const output = new FlowOutput({
  json: setup.json,
  style: style(setup.color),
  clock: wall,
  blocking: true,
  fd: setup.fd,
  print: setup.print,
  warn: (text) => writeSync(2, text),
});
let nextId = 1;
let reported = 0;
let filtered = 0;
let failed = false;

function topology(snap: TopologySnapshot): void {
  resolver = createResolver(snap);
  gate.topology(snap);
}

function flows(m: WireFlows): void {
  for (const { flow, idle } of readWire(m)) {
    if (output.done) break;
    const rec = builder.build(flow, idle);
    if (!gate.accepts(rec)) {
      filtered++;
      continue;
    }
    rec.id = nextId++;
    reported++;
    output.write([rec]);
  }
  output.flush();
  // nothing built from the batch keeps a view of it: its buffers go back to be written
  // again (fresh memory for each would cost the replay's thread a page fault per 4 KB)
  port.postMessage({ kind: 'spare', numbers: m.numbers, records: m.records } satisfies RecordThreadMessage, wireBuffers(m));
  if (output.done) Atomics.store(state, STOP, 1);
  Atomics.add(state, DONE, m.count);
  Atomics.notify(state, DONE);
}

function finish(): void {
  output.close();
  port.postMessage({ kind: 'done', printed: output.printed, reported, filtered, exitCode: output.exitCode } satisfies RecordThreadMessage);
  Atomics.store(state, FINISHED, 1);
  Atomics.notify(state, DONE);
}

/** anything thrown here reaches the replay as its own error would have */
function fail(err: unknown): void {
  failed = true;
  const e = err as MeshTraceError;
  port.postMessage({ kind: 'error', message: e?.message ?? String(err), code: e?.code, hint: e?.hint } satisfies RecordThreadMessage);
  Atomics.store(state, STOP, 1);
  Atomics.store(state, FINISHED, 1);
  Atomics.notify(state, DONE);
}

port.on('message', (m: { kind: 'topology'; snapshot: TopologySnapshot } | ({ kind: 'flows' } & WireFlows) | { kind: 'end' }) => {
  if (failed) return;
  try {
    if (m.kind === 'topology') topology(m.snapshot);
    else if (m.kind === 'flows') flows(m);
    else finish();
  } catch (err) {
    fail(err);
  }
});
