// `mesh-trace hotspots`: which hop makes requests slow. Flows from a source (live, or a file
// of flow records with --from) are aggregated onto the edges of the topology and ranked by
// the time each edge adds; printed as a table, NDJSON (--json) or a self-contained HTML page
// (--html). The command only picks the source and the sinks.
import type { Command } from 'commander';
import type { FlowRecord } from '../../correlate/model.js';
import { MeshTraceError } from '../../errors.js';
import type { HotspotReport } from '../../hotspots/rank.js';
import { hotspotNdjson } from '../../hotspots/report-json.js';
import { hotspotText } from '../../hotspots/report-text.js';
import { wallClock } from '../../report/event-line.js';
import type { FlowSource } from '../../sources/flow-source.js';
import { liveFlows } from '../../sources/live-flows.js';
import { ndjsonFlows } from '../../sources/ndjson-flows.js';
import { recordFilter } from '../../sources/record-filter.js';
import { replayedFlows } from '../../sources/replay-flows.js';
import { sniffInput } from '../../capture/sniff.js';
import { OutputFile } from '../../capture/output-file.js';
import { eventFilter } from './replay.js';
import { addCaptureOptions, captureFilter, positiveNumber, type CaptureOptions } from '../capture-options.js';
import { action } from '../run-action.js';
import { parseForcedRungs } from '../rung-options.js';
import { style, useColor } from '../style.js';

interface HotspotOptions extends CaptureOptions {
  container?: string;
  service?: string;
  netns?: string[];
  from?: string;
  html?: string;
  flows?: string;
  top: string;
  slowest: string;
  flowTimeout: string;
}

const KEEP_SLOWEST = 10;

function wholeNumber(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new MeshTraceError('USAGE', `${what} must be a whole number, not "${v}".`);
  return n;
}

async function openSource(opts: HotspotOptions, count: number | undefined): Promise<{ source: FlowSource; origin: string }> {
  // a capture or pcap by its magic; anything else is read as NDJSON flow records
  const kind = opts.from !== undefined && opts.from !== '-' ? sniffInput(opts.from) : undefined;
  if (opts.from !== undefined && kind) {
    // a capture or pcap goes through the correlator again, with every filter replay has
    const flowTimeoutNs = positiveNumber(opts.flowTimeout, '--flow-timeout')! * 1e9;
    const source = replayedFlows(opts.from, kind, { spec: eventFilter(opts), flows: { container: opts.container, service: opts.service, netns: opts.netns }, flowTimeoutNs, count });
    return { source, origin: opts.from };
  }
  if (opts.from !== undefined) {
    // a file of flow records has no kernel filter and no topology: the filters that need them are refused
    const live = [['--host', opts.host], ['--container', opts.container], ['--service', opts.service], ['--duration', opts.duration]].filter(([, v]) => v !== undefined);
    if (live.length)
      throw new MeshTraceError('USAGE', `${live.map(([k]) => k).join(', ')} cannot be used with --from.`, { hint: 'With --from, filter with --port, --proto, --netns and --count.' });
    const accept = recordFilter({ port: opts.port, proto: opts.proto, netns: opts.netns });
    const source = await ndjsonFlows(opts.from, accept);
    return { source: count === undefined ? source : firstN(source, count), origin: opts.from };
  }
  const source = await liveFlows({
    filter: captureFilter(opts),
    flows: { container: opts.container, service: opts.service, netns: opts.netns },
    docker: opts.docker,
    disableRung: opts.disableRung,
    forcedRungs: parseForcedRungs(opts.rung),
    tcMode: opts.tcMode,
    count,
    durationSec: positiveNumber(opts.duration, '--duration'),
    flowTimeoutSec: positiveNumber(opts.flowTimeout, '--flow-timeout')!,
    onReady: (text) => process.stderr.write(`${text}; Ctrl-C to stop and rank\n`),
  });
  return { source, origin: 'a live trace' };
}

function firstN(source: FlowSource, n: number): FlowSource {
  return {
    ...source,
    async *[Symbol.asyncIterator]() {
      let i = 0;
      if (n <= 0) return;
      for await (const f of source) {
        yield f;
        if (++i >= n) break;
      }
    },
  };
}

/** text held back before a write to --flows: a write each would be a system call a flow */
const FLOWS_WRITE_BYTES = 64 * 1024;

/** every flow aggregated, also written as NDJSON flow records (what --from reads back); the
 * file keeps what was written even when the run fails later */
async function* teeFlows(source: AsyncIterable<FlowRecord>, out: OutputFile): AsyncGenerator<FlowRecord> {
  let held = '';
  try {
    for await (const f of source) {
      held += JSON.stringify(f) + '\n';
      if (held.length >= FLOWS_WRITE_BYTES) {
        out.write(held);
        held = '';
      }
      yield f;
    }
    out.write(held);
  } finally {
    out.close();
  }
}

export function registerHotspots(program: Command): void {
  addCaptureOptions(
    program
      .command('hotspots')
      .description('Find the slow hop: per-hop latencies of many flows added up on the edges of the topology, ranked by the time each edge adds, with histograms, the slowest flows and the drops'),
    'flows',
  )
    .option('--container <name>', 'only flows that reach this container (live only)')
    .option('--service <name>', 'only flows of this service (live only)')
    .option('--netns <name...>', 'only flows crossing these namespaces (node/name, name or inode)')
    .option('--from <file>', 'rank the flows of a capture (`mesh-trace record`), a pcap/pcapng, or a file of flow records (`mesh-trace --json` output; - for stdin) instead of tracing live')
    .option('--json', 'NDJSON: a summary, then one record per edge, slow flow and drop (schema: docs/hotspots.md)')
    .option('--html <file>', 'also write a self-contained HTML report: the graph coloured by latency, a histogram per edge, the slowest flows')
    .option('--flows <file>', 'also write every flow aggregated as NDJSON flow records (read them again with --from)')
    .option('--top <n>', 'edges in the table', '15')
    .option('--slowest <n>', 'slowest flows printed as paths', '3')
    .option('--flow-timeout <seconds>', 'report a flow after this long without a packet', '5')
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace hotspots --port 1080 --duration 30         trace for 30 s, then rank the edges
  mesh-trace hotspots --port 1080 -c 500 --html hot.html the next 500 flows, with an HTML report
  mesh-trace --port 1080 --json > flows.ndjson          record flows ...
  mesh-trace hotspots --from flows.ndjson               ... and rank them later`,
    )
    .action(
      action(async (opts: HotspotOptions) => {
        const count = positiveNumber(opts.count, '--count');
        const top = wholeNumber(opts.top, '--top');
        const slowest = wholeNumber(opts.slowest, '--slowest');
        // the files it writes are opened first: a path that cannot be written is said now,
        // not after the flows were collected; a run that fails leaves none of them behind empty
        const flowsOut = opts.flows === undefined ? undefined : new OutputFile(opts.flows, 'the flow records', '--flows');
        let htmlOut: OutputFile | undefined;
        try {
          htmlOut = opts.html === undefined ? undefined : new OutputFile(opts.html, 'the HTML report', '--html');
          return await rank(opts, { count, top, slowest }, flowsOut, htmlOut);
        } finally {
          flowsOut?.discard();
          htmlOut?.discard();
        }
      }),
    );
}

/** collects the flows, prints their ranking and writes the report files */
async function rank(opts: HotspotOptions, n: { count?: number; top: number; slowest: number }, flowsOut?: OutputFile, htmlOut?: OutputFile): Promise<number | undefined> {
  const { count, top, slowest } = n;
  const { source, origin } = await openSource(opts, count);
  let interrupted = 0;
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  // the first Ctrl-C ends the collection and still prints the ranking; a second one exits
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) process.exit(codes[sig] ?? 1);
    interrupted = codes[sig] ?? 1;
    source.stop();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  // loaded here, not with the program: the histogram and graph libraries take a
  // third of every other command's start-up
  const { aggregateFlows } = await import('../../hotspots/rank.js');
  let report: HotspotReport;
  try {
    report = await aggregateFlows(flowsOut ? teeFlows(source, flowsOut) : source, Math.max(KEEP_SLOWEST, slowest));
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  process.stderr.write(`${source.summary()}\n`);
  if (opts.json) process.stdout.write(hotspotNdjson(report));
  else process.stdout.write(hotspotText(report, style(useColor()), wallClock(), { top, slowest }));
  if (htmlOut) {
    const { hotspotHtml } = await import('../../hotspots/report-html.js');
    htmlOut.write(await hotspotHtml(report, { source: origin, generated: new Date() }));
    htmlOut.close();
    process.stderr.write(`wrote ${htmlOut.path}\n`);
  }
  return interrupted || undefined;
}
