// `mesh-trace record -o FILE`: a capture to analyse later, somewhere else. The events as the
// kernel wrote them, the topology that names them, the clock ticks and every loss counter;
// `mesh-trace replay FILE` turns it into the flows live tracing would have printed.
import type { Command } from 'commander';
import { addCaptureOptions, addSnaplenOption } from '../capture-options.js';
import { runLiveFlows, type LiveFlowOptions } from '../live-flows.js';
import { action } from '../run-action.js';

export function registerRecord(program: Command): void {
  addSnaplenOption(addCaptureOptions(
    program
      .command('record')
      .description('Record events and topology to a capture file (mode 0600) for `mesh-trace replay` and `mesh-trace export`')
      .requiredOption('-o, --output <file>', 'the capture file to write (overwritten)'),
    'flows',
  ))
    .addHelpText(
      'after',
      `
Only packet headers are recorded unless --snaplen N asks for the first N bytes of each
packet as well (from its IP header on: headers and the start of the payload, which may
hold secrets; the file is mode 0600 either way).

Examples:
  mesh-trace record -o web.mtrace --port 1080 --duration 60
  mesh-trace record -o web.mtrace --port 1080 --snaplen 256   with the first 256 bytes of each packet
  mesh-trace replay web.mtrace --json`,
    )
    .action(action((opts: LiveFlowOptions & { output: string }) => runLiveFlows({ ...opts, flowTimeout: '5', record: opts.output }, false)));
}
