// Flows from a live session: the probe engine's batches through the same FlowPipeline as
// `mesh-trace trace` (cli/live-flows.ts), as a source that yields finished flows, for
// commands that aggregate them rather than print them.
import type { FlowRecord } from '../correlate/index.js';
import type { FlowFilterSpec } from '../correlate/flow-filter.js';
import { FlowPipeline } from '../correlate/pipeline.js';
import { flowSummary } from '../cli/flow-output.js';
import type { FilterSpec } from '../events/filter.js';
import { MeshTraceError } from '../errors.js';
import { dropReasonName } from '../probe/btf-enum.js';
import { ProbeSession } from '../probe/session.js';
import { wallClock } from '../report/event-line.js';
import { liveNames } from '../cli/live-names.js';
import type { FlowSource } from './flow-source.js';
import type { parseForcedRungs } from '../cli/rung-options.js';

export interface LiveFlowOptions {
  filter: FilterSpec;
  flows: FlowFilterSpec;
  docker: string[];
  disableRung: string[];
  /** --rung HOOK=RUNG */
  forcedRungs?: ReturnType<typeof parseForcedRungs>;
  tcMode: 'auto' | 'tcx' | 'clsact';
  /** stop after this many flows */
  count?: number;
  /** stop after this many seconds */
  durationSec?: number;
  flowTimeoutSec: number;
  /** told once everything is attached (tests and users wait for it) */
  onReady?: (text: string) => void;
}

const TICK_MS = 100;

export async function liveFlows(o: LiveFlowOptions): Promise<FlowSource> {
  const ready: FlowRecord[] = [];
  const clock = wallClock();
  let filterError: unknown;
  const names = liveNames(o.docker, (snap) => {
    try {
      pipeline.topology(snap);
    } catch (err) {
      filterError ??= err;
    }
  });
  // the same pipeline as `mesh-trace trace` and `replay`: names, flow filters, correlation
  const pipeline: FlowPipeline = new FlowPipeline({
    flows: o.flows,
    flowTimeoutNs: o.flowTimeoutSec * 1e9,
    wallClock: (_c, ns) => clock(ns),
    dropReason: dropReasonName,
    onUnknownDevice: names.refresh,
    onFlows: (f) => ready.push(...f),
  });
  await names.ready;
  if (filterError) throw filterError;
  if (!pipeline.hasTopology() && (o.flows.container || o.flows.service || o.flows.netns)) {
    throw new MeshTraceError('KERNEL', 'The topology could not be read, so --container, --service and --netns cannot be resolved.', {
      hint: 'Run `mesh-trace topology` to see why.',
    });
  }
  const session = await ProbeSession.open({
    filter: o.filter,
    disabledRungs: o.disableRung,
    forcedRungs: o.forcedRungs,
    tcMode: o.tcMode,
    onWarning: (w) => process.stderr.write(`mesh-trace: ${w.message}\n`),
  });
  let delivered = 0;
  const stop = () => void session.close();

  async function* flows(): AsyncGenerator<FlowRecord> {
    const now = () => Number(process.hrtime.bigint());
    // flows finish with time, not only with packets: advance the pipeline on a tick
    const tick = setInterval(() => {
      pipeline.tick(now());
      // enough flows are finished: end the session now rather than wait for another packet
      if (o.count !== undefined && delivered + ready.length >= o.count) stop();
    }, TICK_MS);
    const timer = o.durationSec ? setTimeout(stop, o.durationSec * 1000) : undefined;
    timer?.unref();
    const enough = () => o.count !== undefined && delivered >= o.count;
    try {
      const c0 = session.counters();
      o.onReady?.(`tracing ${c0.devicesAttached} devices in ${c0.namespacesAttached} namespaces${o.filter.port ? ` (port ${o.filter.port})` : ''}`);
      for await (const batch of session) {
        pipeline.batch(batch);
        while (ready.length && !enough()) {
          delivered++;
          yield ready.shift()!;
        }
        if (enough()) break;
      }
    } finally {
      clearInterval(tick);
      if (timer) clearTimeout(timer);
      await session.close();
    }
    // the session has ended: what finished on the last ticks, then every flow still open
    pipeline.finish();
    for (const f of ready) {
      if (enough()) break;
      delivered++;
      yield f;
    }
  }

  return {
    [Symbol.asyncIterator]: flows,
    stop,
    summary: () => {
      const c = session.counters();
      return flowSummary(delivered, pipeline.counters(), c, `; ${c.devicesAttached} devices in ${c.namespacesAttached} namespaces`).trimEnd();
    },
  };
}
