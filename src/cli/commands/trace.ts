// `mesh-trace [trace] --port 1080`: the default command. Live events from the probe engine
// go through the correlator; each finished flow is printed as a path (or one NDJSON record),
// and on exit a summary with every loss counter.
import type { Command } from 'commander';
import { Correlator, resolverNamer, type FlowRecord } from '../../correlate/index.js';
import { flowFilter } from '../../correlate/flow-filter.js';
import { dropReasonName } from '../../probe/btf-enum.js';
import { ProbeSession } from '../../probe/session.js';
import { closeOnSignals } from '../../probe/signals.js';
import { wallClock } from '../../report/event-line.js';
import { flowText } from '../../report/flow-text.js';
import { MeshTraceError } from '../../errors.js';
import { addCaptureOptions, captureFilter, positiveNumber, type CaptureOptions } from '../capture-options.js';
import { liveNames } from '../live-names.js';
import { action } from '../run-action.js';
import { parseForcedRungs } from '../rung-options.js';
import { style, useColor } from '../style.js';

interface TraceOptions extends CaptureOptions {
  container?: string;
  service?: string;
  netns?: string[];
  flowTimeout: string;
}

const TICK_MS = 100;

export function registerTrace(program: Command): void {
  addCaptureOptions(
    program
      .command('trace', { isDefault: true })
      .description('Trace flows live: each connection as the path it took across namespaces, NAT, the load balancer and the overlay, with the time on every hop (the default command)'),
    'flows',
  )
    .option('--container <name>', 'only flows that reach this container (name, task name or id)')
    .option('--service <name>', 'only flows of this service (its tasks, VIPs and published ports)')
    .option('--netns <name...>', 'only flows crossing these namespaces (node/name, name or inode)')
    .option('--json', 'NDJSON: one flow record per line (schema: docs/flows.md)')
    .option('--flow-timeout <seconds>', 'report a flow after this long without a packet', '5')
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace --port 1080                     every flow to or from port 1080, as paths
  mesh-trace --port 1080 --count 1 --json    the next flow as one NDJSON record
  mesh-trace --service web --duration 30     the flows of service "web" for 30 seconds`,
    )
    .action(
      action(async (opts: TraceOptions) => {
        const filter = captureFilter(opts);
        const count = positiveNumber(opts.count, '--count');
        const duration = positiveNumber(opts.duration, '--duration');
        const flowTimeout = positiveNumber(opts.flowTimeout, '--flow-timeout')!;
        const names = liveNames(opts.docker);
        await names.ready;
        const snap = names.snapshot();
        if (!snap && (opts.container || opts.service || opts.netns)) {
          throw new MeshTraceError('KERNEL', 'The topology could not be read, so --container, --service and --netns cannot be resolved.', {
            hint: 'Run `mesh-trace topology` to see why.',
          });
        }
        const accept = snap ? flowFilter({ container: opts.container, service: opts.service, netns: opts.netns }, snap) : undefined;
        const session = await ProbeSession.open({
          filter,
          disabledRungs: opts.disableRung,
          forcedRungs: parseForcedRungs(opts.rung),
          tcMode: opts.tcMode,
          onWarning: (w) => process.stderr.write(`mesh-trace: ${w.message}\n`),
        });
        const clock = wallClock();
        const correlator = new Correlator({
          namer: resolverNamer(names.resolver, dropReasonName, names.refresh),
          wallClock: (_c, ns) => clock(ns),
          accept,
          flowTimeoutNs: flowTimeout * 1e9,
        });
        const s = style(useColor());
        let printed = 0;
        let done = false;
        const write = (flows: FlowRecord[]) => {
          if (done || !flows.length) return;
          const out: string[] = [];
          for (const f of flows) {
            if (count !== undefined && printed >= count) break;
            out.push(opts.json ? JSON.stringify(f) : `${flowText(f, s, clock)}\n`);
            printed++;
          }
          if (out.length) process.stdout.write(out.join('\n') + '\n');
          if (count !== undefined && printed >= count) void session.close();
        };
        const summary = () => {
          const c = session.counters();
          const k = correlator.counters();
          const filtered = k.flowsFiltered ? ` (${k.flowsFiltered} more filtered out)` : '';
          process.stderr.write(
            `${printed} flow${printed === 1 ? '' : 's'}${filtered} from ${k.events} events; lost: ring ${c.ringFull}, queue ${c.queueFull}, flows evicted ${k.flowsEvicted}, journeys evicted ${k.journeysEvicted}, events truncated ${k.eventsTruncated}; ${c.devicesAttached} devices in ${c.namespacesAttached} namespaces\n`,
          );
        };
        const finish = () => {
          if (!done) write(correlator.flush());
          done = true;
        };
        const stopSignals = closeOnSignals(session, () => {
          finish();
          summary();
        });
        process.stdout.on('error', (err: NodeJS.ErrnoException) => {
          // `| head` closed the pipe: stop quietly, detaching everything
          if (err.code === 'EPIPE') void session.close().finally(() => process.exit(0));
        });
        const c0 = session.counters();
        process.stderr.write(`tracing ${c0.devicesAttached} devices in ${c0.namespacesAttached} namespaces${filter.port ? ` (port ${filter.port})` : ''}; Ctrl-C to stop\n`);
        const now = () => Number(process.hrtime.bigint());
        const tick = setInterval(() => write(correlator.advance(now())), TICK_MS);
        if (duration) setTimeout(() => void session.close(), duration * 1000).unref();
        try {
          for await (const batch of session) {
            correlator.push(batch.events());
            if (count !== undefined && printed >= count) break;
          }
        } finally {
          clearInterval(tick);
          await session.close();
        }
        stopSignals();
        finish();
        summary();
      }),
    );
}
