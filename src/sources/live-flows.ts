// Flows from a live session: the probe engine's batches through the correlator, wired the
// way `mesh-trace trace` wires them (trace.ts keeps its own printing loop; this is the same
// pipeline as a source that yields finished flows, for commands that aggregate them).
import { Correlator, resolverNamer, type FlowRecord } from '../correlate/index.js';
import { flowFilter, type FlowFilterSpec } from '../correlate/flow-filter.js';
import type { FilterSpec } from '../events/filter.js';
import { MeshTraceError } from '../errors.js';
import { dropReasonName } from '../probe/btf-enum.js';
import { ProbeSession } from '../probe/session.js';
import { wallClock } from '../report/event-line.js';
import { liveNames } from '../cli/live-names.js';
import type { FlowSource } from './flow-source.js';

export interface LiveFlowOptions {
  filter: FilterSpec;
  flows: FlowFilterSpec;
  docker: string[];
  disableRung: string[];
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
  const names = liveNames(o.docker);
  await names.ready;
  const snap = names.snapshot();
  if (!snap && (o.flows.container || o.flows.service || o.flows.netns)) {
    throw new MeshTraceError('KERNEL', 'The topology could not be read, so --container, --service and --netns cannot be resolved.', {
      hint: 'Run `mesh-trace topology` to see why.',
    });
  }
  const accept = snap ? flowFilter(o.flows, snap) : undefined;
  const session = await ProbeSession.open({
    filter: o.filter,
    disabledRungs: o.disableRung,
    tcMode: o.tcMode,
    onWarning: (w) => process.stderr.write(`mesh-trace: ${w.message}\n`),
  });
  const clock = wallClock();
  const correlator = new Correlator({
    namer: resolverNamer(names.resolver, dropReasonName, names.refresh),
    wallClock: (_c, ns) => clock(ns),
    accept,
    flowTimeoutNs: o.flowTimeoutSec * 1e9,
  });
  let delivered = 0;
  const stop = () => void session.close();

  async function* flows(): AsyncGenerator<FlowRecord> {
    const ready: FlowRecord[] = [];
    const now = () => Number(process.hrtime.bigint());
    // flows finish with time, not only with packets: advance the correlator on a tick
    const tick = setInterval(() => {
      ready.push(...correlator.advance(now()));
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
        correlator.push(batch.events());
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
    ready.push(...correlator.flush());
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
      const k = correlator.counters();
      const filtered = k.flowsFiltered ? ` (${k.flowsFiltered} more filtered out)` : '';
      return `${delivered} flow${delivered === 1 ? '' : 's'}${filtered} from ${k.events} events; lost: ring ${c.ringFull}, queue ${c.queueFull}, flows evicted ${k.flowsEvicted}, journeys evicted ${k.journeysEvicted}, events truncated ${k.eventsTruncated}; ${c.devicesAttached} devices in ${c.namespacesAttached} namespaces`;
    },
  };
}
