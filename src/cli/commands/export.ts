// `mesh-trace export --pcapng OUT [--from FILE…]`: flows as a pcapng Wireshark opens. One
// packet per hop, on an interface per (node, namespace, device) named from the topology,
// each with a comment: its flow, hop, rewrite and drop reason. Live without --from.
import type { Command } from 'commander';
import { PcapngWriter } from '../../pcap/pcapng-writer.js';
import { exportFlow } from '../../pcap/export.js';
import { PayloadIndex } from '../../pcap/payloads.js';
import { inputKind } from '../../capture/sniff.js';
import { MeshTraceError } from '../../errors.js';
import { readVersion } from '../../version.js';
import { addCaptureOptions, addSnaplenOption, positiveNumber } from '../capture-options.js';
import { addFlowFilterOptions } from '../flow-options.js';
import { runLiveFlows, type LiveFlowOptions } from '../live-flows.js';
import { action } from '../run-action.js';
import { eventFilter, replayPcaps, replayRecording } from './replay.js';
import type { FlowRecord } from '../../correlate/index.js';
import type { EventBatch } from '../../events/decode.js';

interface ExportOptions extends LiveFlowOptions {
  pcapng: string;
  from?: string[];
  topology?: string;
  map: string[];
}

export function registerExport(program: Command): void {
  addSnaplenOption(addFlowFilterOptions(
    addCaptureOptions(
      program
        .command('export')
        .description('Write flows as pcapng for Wireshark: one packet per hop, interfaces named node/netns/device, a comment per packet with the hop, rewrite and drop reason')
        .requiredOption('--pcapng <file>', 'the pcapng file to write')
        .option('--from <file...>', 'a capture (mesh-trace record) or pcap/pcapng files, instead of tracing live'),
      'flows',
    ),
  ))
    .option('--topology <file>', 'pcap input: name devices from this topology')
    .option('--map <iface=node/netns/device...>', 'pcap input: the device an interface is', [])
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace export --pcapng web.pcapng --from web.mtrace
  mesh-trace export --pcapng live.pcapng --port 1080 --duration 10
  wireshark web.pcapng        (Statistics › Capture File Properties lists the interfaces)`,
    )
    .action(
      action(async (opts: ExportOptions) => {
        const count = positiveNumber(opts.count, '--count');
        const flowTimeout = positiveNumber(opts.flowTimeout, '--flow-timeout')!;
        const spec = eventFilter(opts);
        const kinds = opts.from?.map(inputKind);
        if (opts.from && opts.snaplen !== undefined) {
          throw new MeshTraceError('USAGE', '--snaplen is for live export; a recording keeps the bytes it was recorded with.', {
            hint: 'Record with `mesh-trace record --snaplen N`, then export that recording.',
          });
        }
        const w = new PcapngWriter(opts.pcapng, `mesh-trace ${readVersion()}`);
        let flows = 0;
        // packet bytes captured with --snaplen (live, or in the recording): hops become them
        const payloads = new PayloadIndex();
        const onBatch = (b: EventBatch) => payloads.add(b);
        const sink = (f: FlowRecord, wall: (ns: number) => number) => {
          flows++;
          exportFlow(w, f, wall, payloads);
        };
        let done = false;
        // the file is complete: said once, whether the run ended by itself or on Ctrl-C
        // (live, which exits as soon as the last flows are out)
        const finished = () => {
          if (done) return;
          done = true;
          w.close();
          process.stderr.write(`wrote ${w.packets} packets of ${flows} flow${flows === 1 ? '' : 's'} to ${opts.pcapng}\n`);
        };
        try {
          const common = { count, flowTimeoutNs: flowTimeout * 1e9, flows: { container: opts.container, service: opts.service, netns: opts.netns }, spec, sink, onBatch };
          if (!opts.from) await runLiveFlows({ ...opts, sink, onBatch, onFinished: finished }, true);
          else if (kinds!.includes('capture')) {
            if (opts.from.length > 1) throw new MeshTraceError('USAGE', 'Export one mesh-trace capture at a time.');
            replayRecording(opts.from[0], common, !!(opts.container || opts.service || opts.netns));
          } else replayPcaps(opts.from, common, opts);
        } catch (err) {
          // what was exported before the failure (damage further on) stays, and is said; a
          // file with no packet does not
          if (w.packets) finished();
          else w.discard();
          throw err;
        }
        finished();
      }),
    );
}
