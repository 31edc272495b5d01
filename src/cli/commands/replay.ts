// `mesh-trace replay FILE`: a recording (or a pcap/pcapng) through the same correlator as
// live tracing. For a recording, the output is what live tracing printed, byte for byte;
// --port/--host/--proto filter the events as the kernel filter would have.
import type { Command } from 'commander';
import { CaptureReader } from '../../capture/reader.js';
import { replayCapture } from '../../capture/replay.js';
import { FlowPipeline } from '../../correlate/pipeline.js';
import { ReplayFilter } from '../../events/replay-filter.js';
import { dropReasonsFrom } from '../../probe/btf-enum.js';
import { MeshTraceError } from '../../errors.js';
import { positiveNumber } from '../capture-options.js';
import { addFlowFilterOptions } from '../flow-options.js';
import { FlowOutput, flowSummary } from '../flow-output.js';
import { Progress } from '../progress.js';
import { action } from '../run-action.js';
import { style, useColor } from '../style.js';
import { encodeFilter, type FilterSpec } from '../../events/filter.js';

interface ReplayOptions {
  port?: string;
  host?: string;
  proto?: string;
  count?: string;
  json?: boolean;
  container?: string;
  service?: string;
  netns?: string[];
  flowTimeout: string;
}

export function eventFilter(opts: { port?: string; host?: string; proto?: string }): FilterSpec {
  const spec: FilterSpec = {};
  if (opts.port !== undefined) spec.port = Number(opts.port);
  if (opts.host !== undefined) spec.host = opts.host;
  if (opts.proto !== undefined) spec.proto = opts.proto;
  encodeFilter(spec); // the same errors for bad values as live
  return spec;
}

export function registerReplay(program: Command): void {
  addFlowFilterOptions(
    program
      .command('replay <file>')
      .description('Replay a capture (from `mesh-trace record`) into flows, exactly as live tracing printed them')
      .option('-p, --port <port>', 'source or destination port, outer or inner (VXLAN)')
      .option('--host <addr>', 'source or destination address or CIDR')
      .option('--proto <proto>', 'tcp, udp, icmp or a number')
      .option('-c, --count <n>', 'stop after n flows'),
  )
    .option('--json', 'NDJSON: one flow record per line (schema: docs/flows.md)')
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace replay web.mtrace                   every flow of the recording, as paths
  mesh-trace replay web.mtrace --json | jq .     as NDJSON
  mesh-trace replay web.mtrace --container web.1 only the flows reaching one container`,
    )
    .action(
      action((file: string, opts: ReplayOptions) => {
        const spec = eventFilter(opts);
        const count = positiveNumber(opts.count, '--count');
        const flowTimeout = positiveNumber(opts.flowTimeout, '--flow-timeout')!;
        const reader = new CaptureReader(file);
        try {
          const h = reader.header;
          const wall = (mono: number) => h.clock.wallNs + (mono - h.clock.monotonicNs);
          const progress = new Progress(reader.size, 'replay');
          const output = new FlowOutput({ json: opts.json, count, style: style(useColor()), clock: wall, beforeWrite: () => progress.done() });
          const pipeline = new FlowPipeline({
            flows: { container: opts.container, service: opts.service, netns: opts.netns },
            events: new ReplayFilter(spec),
            flowTimeoutNs: flowTimeout * 1e9,
            wallClock: (_c, ns) => wall(ns),
            dropReason: dropReasonsFrom(h.dropReasons ?? {}),
            onFlows: (f) => output.write(f),
          });
          const r = replayCapture(reader, pipeline, { stop: () => output.full, progress: (p, e) => progress.update(p, e) });
          progress.done();
          output.close();
          const c = r.counters;
          const tail = `${c ? '' : ' (the recording holds no loss counters)'}; recorded on ${h.host} (${h.kernel}) by mesh-trace ${h.toolVersion}`;
          process.stderr.write(flowSummary(output.printed, pipeline.counters(), c, tail));
          if (r.damage) throw r.damage;
          if (!r.end && !output.full) {
            process.stderr.write(`mesh-trace: ${file} has no end frame: the recording was cut short (killed or crashed); everything it holds was replayed.\n`);
          }
          if (!pipeline.hasTopology() && (opts.container || opts.service || opts.netns)) {
            throw new MeshTraceError('BAD_INPUT', `${file} holds no topology, so --container, --service and --netns cannot be resolved.`);
          }
        } finally {
          reader.close();
        }
      }),
    );
}
