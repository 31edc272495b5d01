// `mesh-trace replay FILE`: a recording (or a pcap/pcapng) through the same correlator as
// live tracing. For a recording, the output is what live tracing printed, byte for byte;
// --port/--host/--proto filter the events as the kernel filter would have.
import type { Command } from 'commander';
import { CaptureReader } from '../../capture/reader.js';
import { replayCapture } from '../../capture/replay.js';
import { FlowPipeline, type PipelineOptions } from '../../correlate/pipeline.js';
import { ReplayFilter } from '../../events/replay-filter.js';
import { dropReasonsFrom } from '../../probe/btf-enum.js';
import { MeshTraceError } from '../../errors.js';
import { positiveNumber } from '../capture-options.js';
import { addFlowFilterOptions } from '../flow-options.js';
import { FlowOutput, flowSummary } from '../flow-output.js';
import { Progress } from '../progress.js';
import { RecordThread, RECORD_THREAD_MIN_BYTES } from '../record-thread.js';
import { action } from '../run-action.js';
import { style, useColor } from '../style.js';
import { encodeFilter, type FilterSpec } from '../../events/filter.js';
import type { FlowFilterSpec } from '../../correlate/flow-filter.js';
import type { FlowRecord } from '../../correlate/index.js';
import { inputKind, loadTopology } from '../../capture/sniff.js';
import { PcapImport } from '../../pcap/import.js';
import { replayPcap } from '../../pcap/replay.js';
import type { EventBatch } from '../../events/decode.js';

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
  topology?: string;
  map: string[];
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
      .command('replay <files...>')
      .description('Replay a capture (from `mesh-trace record`) into flows, exactly as live tracing printed them; or pcap/pcapng files (tcpdump, tshark) into flows')
      .option('-p, --port <port>', 'source or destination port, outer or inner (VXLAN)')
      .option('--host <addr>', 'source or destination address or CIDR')
      .option('--proto <proto>', 'tcp, udp, icmp or a number')
      .option('-c, --count <n>', 'stop after n flows'),
  )
    .option('--json', 'NDJSON: one flow record per line (schema: docs/flows.md)')
    .option('--topology <file>', 'pcap: name devices and NAT rules from this topology (`mesh-trace topology --json`, or a capture)')
    .option('--map <iface=node/netns/device...>', 'pcap: the device an interface of the files is (`any` captures: iface=node/netns)', [])
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace replay web.mtrace                   every flow of the recording, as paths
  mesh-trace replay web.mtrace --json | jq .     as NDJSON
  mesh-trace replay web.mtrace --container web.1 only the flows reaching one container
  mesh-trace replay underlay.pcap                tcpdump's capture into flows (VXLAN decoded)
  mesh-trace replay a.pcapng --topology topo.json --map eth0=node1/host/eth0`,
    )
    .action(
      action((files: string[], opts: ReplayOptions) => {
        const spec = eventFilter(opts);
        const count = positiveNumber(opts.count, '--count');
        const flowTimeout = positiveNumber(opts.flowTimeout, '--flow-timeout')!;
        const kinds = files.map(inputKind);
        const wantsTopology = !!(opts.container || opts.service || opts.netns?.length);
        const common = { json: opts.json, count, flowTimeoutNs: flowTimeout * 1e9, flows: { container: opts.container, service: opts.service, netns: opts.netns }, spec };
        if (kinds.includes('capture')) {
          if (files.length > 1) throw new MeshTraceError('USAGE', 'Replay one mesh-trace capture at a time.', { hint: 'Several files can be given for pcaps only.' });
          if (opts.topology || opts.map.length) throw new MeshTraceError('USAGE', '--topology and --map are for pcap files; a mesh-trace capture carries its own topology.');
          return replayRecording(files[0], common, wantsTopology);
        }
        return replayPcaps(files, common, opts);
      }),
    );
}

export interface Common {
  json?: boolean;
  /** export: flows go here instead of stdout */
  sink?: (f: FlowRecord, wallNs: (clockNs: number) => number) => void;
  count?: number;
  flowTimeoutNs: number;
  flows: FlowFilterSpec;
  spec: FilterSpec;
  /** export: sees every batch before the pipeline does (to keep --snaplen bytes) */
  onBatch?: (b: EventBatch) => void;
}

/** Whether a recording's flow records are built and printed on a thread of their own
 * (record-thread.ts): for a large one whose records go to a file or a pipe. Not for a
 * terminal, where the printed flows and the progress line take turns on one screen; not
 * for export, whose sink wants the records here; and not with --count, which is over
 * after a few flows, and whose summary counts the events read until the last one (a
 * thread would be told it is over only later). */
function onRecordThread(o: Common, size: number, minBytes: number): boolean {
  return !o.sink && !o.onBatch && o.count === undefined && size >= minBytes && !process.stdout.isTTY;
}

/** returns the exit code standard output failing calls for, if it did */
export function replayRecording(file: string, o: Common, wantsTopology: boolean, threadMinBytes = RECORD_THREAD_MIN_BYTES): number | undefined {
  // export keeps batches (their --snaplen bytes) past the journeys that point into them
  const reader = new CaptureReader(file, { reuseChunks: !o.onBatch });
  let thread: RecordThread | undefined;
  try {
    const h = reader.header;
    const wall = (mono: number) => h.clock.wallNs + (mono - h.clock.monotonicNs);
    if (onRecordThread(o, reader.size, threadMinBytes)) {
      thread = RecordThread.start({ json: o.json, color: useColor(), fd: 1, clock: { wallNs: h.clock.wallNs, monotonicNs: h.clock.monotonicNs }, dropReasons: h.dropReasons ?? {}, flows: o.flows });
    }
    const { pipeline, output, run, done } = replayRun(o, reader.size, wall, { dropReason: dropReasonsFrom(h.dropReasons ?? {}) }, thread);
    const r = replayCapture(reader, pipeline, { ...run, onBatch: o.onBatch });
    done();
    let printed = output.printed;
    let exitCode = output.exitCode;
    let failed: unknown;
    if (thread) {
      try {
        ({ printed, exitCode } = thread.finish());
      } catch (err) {
        failed = err;
      }
    }
    const c = r.counters;
    const tail = `${c ? '' : ' (the recording holds no loss counters)'}; recorded on ${h.host} (${h.kernel}) by mesh-trace ${h.toolVersion}`;
    process.stderr.write(flowSummary(printed, pipeline.counters(), c, tail));
    if (failed) throw failed;
    if (r.damage) throw r.damage;
    if (!r.end && !output.done && !thread?.done) {
      process.stderr.write(`mesh-trace: ${file} has no end frame: the recording was cut short (killed or crashed); everything it holds was replayed.\n`);
    }
    if (!pipeline.hasTopology() && wantsTopology) {
      throw new MeshTraceError('BAD_INPUT', `${file} holds no topology, so --container, --service and --netns cannot be resolved.`);
    }
    return exitCode;
  } finally {
    thread?.close();
    reader.close();
  }
}

/** what every replay sets up: a progress line, the output (or the export's sink) and the
 * pipeline with the kernel filter again; done() wipes the progress line and ends output */
function replayRun(o: Common, size: number, wall: (ns: number) => number, names: Pick<PipelineOptions, 'dropReason' | 'namer'>, thread?: RecordThread) {
  const progress = new Progress(size, 'replay');
  const sink = o.sink;
  const output = new FlowOutput({
    json: o.json,
    count: o.count,
    style: style(useColor()),
    clock: wall,
    beforeWrite: () => progress.done(),
    blocking: true,
    ...(sink ? { print: false, sink: (f: FlowRecord) => sink(f, wall) } : {}),
  });
  const pipeline = new FlowPipeline({
    flows: o.flows,
    events: new ReplayFilter(o.spec),
    flowTimeoutNs: o.flowTimeoutNs,
    wallClock: (_c, ns) => wall(ns),
    ...names,
    onFlows: (f) => output.write(f),
    onSettled: () => output.flush(),
    records: thread,
  });
  return {
    pipeline,
    output,
    run: { stop: () => output.done || !!thread?.done, progress: (p: number, e: number) => progress.update(p, e) },
    done: () => {
      progress.done();
      output.close();
    },
  };
}

function parseMap(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq <= 0 || eq === e.length - 1) throw new MeshTraceError('USAGE', `--map ${e}: expected IFACE=NODE/NETNS/DEVICE.`, { hint: 'e.g. --map eth0=node1/host/eth0' });
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

export function replayPcaps(files: string[], o: Common, opts: { topology?: string; map: string[] }): number | undefined {
  const topology = opts.topology ? loadTopology(opts.topology) : undefined;
  if (!topology && (o.flows.container || o.flows.service || o.flows.netns?.length)) {
    throw new MeshTraceError('USAGE', 'pcap files carry no topology, so --container, --service and --netns need --topology FILE.');
  }
  const imp = new PcapImport(files, { topology, map: parseMap(opts.map) });
  try {
    const dropReason = (n: number) => `reason ${n}`;
    const { pipeline, output, run, done } = replayRun(o, imp.size, (ns) => imp.wallNs(ns), { dropReason, namer: imp.namer(dropReason) });
    if (topology) pipeline.topology(topology);
    const r = replayPcap(imp, pipeline, { ...run, onBatch: o.onBatch });
    done();
    const skipped = imp.skipped ? `; ${imp.skipped} packets without IP headers (ARP, …) left out` : '';
    process.stderr.write(flowSummary(output.printed, pipeline.counters(), undefined, `; ${imp.packets} packets in ${files.length} file${files.length === 1 ? '' : 's'}${skipped}`));
    if (r.damage) throw r.damage;
    return output.exitCode;
  } finally {
    imp.close();
  }
}
