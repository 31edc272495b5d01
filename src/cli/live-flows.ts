// Live tracing into flows, optionally recording as it goes: the probe session's batches,
// a 100 ms clock tick and each topology snapshot go to the flow pipeline and, with
// --record, into the capture file in the same order, so a replay makes the same calls.
import { hostname, release } from 'node:os';
import { FlowPipeline } from '../correlate/pipeline.js';
import type { FlowFilterSpec } from '../correlate/flow-filter.js';
import type { FlowRecord } from '../correlate/index.js';
import { dropReasonName, dropReasonTable } from '../probe/btf-enum.js';
import { ProbeSession, type SessionCounters } from '../probe/session.js';
import { closeOnSignals } from '../probe/signals.js';
import { MeshTraceError } from '../errors.js';
import { CaptureWriter } from '../capture/writer.js';
import { FORMAT_VERSION } from '../capture/format.js';
import type { CountersMsg } from '../capture/schema.js';
import { EVENT_VERSION, RECORD_SIZE } from '../events/layout.js';
import { readVersion } from '../version.js';
import { captureFilter, captureSnaplen, positiveNumber, type CaptureOptions } from './capture-options.js';
import type { EventBatch } from '../events/decode.js';
import { FlowOutput, flowSummary } from './flow-output.js';
import { liveNames } from './live-names.js';
import { parseForcedRungs } from './rung-options.js';
import { style, useColor } from './style.js';

export interface LiveFlowOptions extends CaptureOptions {
  container?: string;
  service?: string;
  netns?: string[];
  flowTimeout: string;
  /** write a capture file as well */
  record?: string;
  /** export: flows go here instead of stdout */
  sink?: (f: FlowRecord, wallNs: (monoNs: number) => number) => void;
  /** export: sees every batch before the pipeline does (to keep --snaplen bytes) */
  onBatch?: (b: EventBatch) => void;
  /** export: the last flow went to the sink (a signal exits right after this) */
  onFinished?: () => void;
}

const TICK_MS = 100;
const COUNTERS_EVERY_MS = 1000;

const monoNow = () => Number(process.hrtime.bigint());

export function countersMsg(c: SessionCounters, monotonicNs: number): CountersMsg {
  return { ...c, monotonicNs };
}

/** runs until --count, --duration, Ctrl-C or a closed pipe; print false = record only */
export async function runLiveFlows(opts: LiveFlowOptions, print: boolean): Promise<void> {
  const filter = captureFilter(opts);
  const snaplen = captureSnaplen(opts);
  if (snaplen && !opts.record && !opts.sink) {
    throw new MeshTraceError('USAGE', '--snaplen keeps packet bytes in a recording or a pcapng, and this run writes neither.', {
      hint: 'Add -w FILE to record them, or use `mesh-trace record --snaplen N` or `mesh-trace export --pcapng FILE --snaplen N`.',
    });
  }
  const count = positiveNumber(opts.count, '--count');
  const duration = positiveNumber(opts.duration, '--duration');
  const flowTimeout = positiveNumber(opts.flowTimeout, '--flow-timeout')!;
  const flows: FlowFilterSpec = { container: opts.container, service: opts.service, netns: opts.netns };
  // one pairing of the events' clock with wall-clock time, kept in a recording's header
  const ref = { clock: 'local', monotonicNs: monoNow(), wallNs: Date.now() * 1e6 };
  const wall = (mono: number) => ref.wallNs + (mono - ref.monotonicNs);
  const recorder = opts.record
    ? CaptureWriter.create(opts.record, {
        formatVersion: FORMAT_VERSION,
        eventVersion: EVENT_VERSION,
        recordSize: RECORD_SIZE,
        host: hostname(),
        kernel: release(),
        toolVersion: readVersion(),
        clock: ref,
        filter: { port: filter.port ?? 0, proto: filter.proto === undefined ? '' : String(filter.proto), host: filter.host ?? '' },
        snaplen,
        argv: process.argv.slice(2),
        dropReasons: dropReasonTable(),
      })
    : undefined;
  const s = style(useColor());
  let session: ProbeSession | undefined;
  let endReason = 'signal';
  const output = new FlowOutput({
    json: opts.json,
    count,
    style: s,
    clock: wall,
    print: print && !opts.sink,
    ...(opts.sink ? { sink: (f: FlowRecord) => opts.sink!(f, wall) } : {}),
    onLimit: () => {
      endReason = 'count';
      void session?.close();
    },
    // `| head` closed the pipe (or the disk is full): stop, detaching everything
    onBroken: () => void session?.close().finally(() => process.exit(process.exitCode ?? 0)),
  });
  let filterError: unknown;
  const names = liveNames(opts.docker, (snap) => {
    recorder?.topology(snap, monoNow());
    try {
      pipeline.topology(snap);
    } catch (err) {
      // --container nosuch: reported below, before anything is attached
      filterError ??= err;
    }
  });
  const pipeline: FlowPipeline = new FlowPipeline({
    flows,
    flowTimeoutNs: flowTimeout * 1e9,
    wallClock: (_c, ns) => wall(ns),
    dropReason: dropReasonName,
    onUnknownDevice: names.refresh,
    onFlows: (f) => output.write(f),
    onSettled: () => output.flush(),
  });
  let live: ProbeSession;
  try {
    await names.ready;
    if (filterError) throw filterError;
    if (!pipeline.hasTopology() && (opts.container || opts.service || opts.netns)) {
      throw new MeshTraceError('KERNEL', 'The topology could not be read, so --container, --service and --netns cannot be resolved.', {
        hint: 'Run `mesh-trace topology` to see why.',
      });
    }
    live = await ProbeSession.open({
      filter,
      snaplen,
      disabledRungs: opts.disableRung,
      forcedRungs: parseForcedRungs(opts.rung),
      tcMode: opts.tcMode,
      onWarning: (w) => process.stderr.write(`mesh-trace: ${w.message}\n`),
    });
  } catch (err) {
    recorder?.discard();
    throw err;
  }
  session = live;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    pipeline.finish();
    output.close();
    const c = live.counters();
    const now = monoNow();
    recorder?.end(now, endReason, countersMsg(c, now));
    recorder?.close();
    const tail = `; ${c.devicesAttached} devices in ${c.namespacesAttached} namespaces${recorder ? `; recorded to ${recorder.path} (${(recorder.size / 1e6).toFixed(1)} MB)` : ''}`;
    process.stderr.write(flowSummary(output.printed, pipeline.counters(), { ...c, outputDropped: output.dropped }, tail));
    opts.onFinished?.();
  };
  const stopSignals = closeOnSignals(live, finish);
  const c0 = live.counters();
  process.stderr.write(`${print ? 'tracing' : 'recording: tracing'} ${c0.devicesAttached} devices in ${c0.namespacesAttached} namespaces${filter.port ? ` (port ${filter.port})` : ''}; Ctrl-C to stop\n`);
  const tick = setInterval(() => {
    const now = monoNow();
    recorder?.tick('local', now);
    pipeline.tick(now);
  }, TICK_MS);
  const counters = recorder ? setInterval(() => recorder.counters(countersMsg(live.counters(), monoNow())), COUNTERS_EVERY_MS) : undefined;
  if (duration)
    setTimeout(() => {
      endReason = 'duration';
      void live.close();
    }, duration * 1000).unref();
  try {
    for await (const batch of live) {
      recorder?.batch('local', batch.raw(), batch.length, batch.rawPayload());
      opts.onBatch?.(batch);
      pipeline.batch(batch);
      if (output.full) {
        endReason = 'count';
        break;
      }
    }
  } catch (err) {
    endReason = 'error';
    throw err;
  } finally {
    clearInterval(tick);
    if (counters) clearInterval(counters);
    await live.close();
    stopSignals();
    finish();
  }
}
