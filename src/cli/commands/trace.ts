// `mesh-trace [trace] --port 1080`: the default command. Live events from the probe engine
// go through the correlator; each finished flow is printed as a path (or one NDJSON record),
// and on exit a summary with every loss counter. --record keeps a capture file as well.
import type { Command } from 'commander';
import { addCaptureOptions } from '../capture-options.js';
import { runLiveFlows, type LiveFlowOptions } from '../live-flows.js';
import { action } from '../run-action.js';
import { addFlowFilterOptions } from '../flow-options.js';

export function registerTrace(program: Command): void {
  addFlowFilterOptions(
    addCaptureOptions(
      program
        .command('trace', { isDefault: true })
        .description('Trace flows live: each connection as the path it took across namespaces, NAT, the load balancer and the overlay, with the time on every hop (the default command)'),
      'flows',
    ),
  )
    .option('--json', 'NDJSON: one flow record per line (schema: docs/flows.md)')
    .option('-w, --record <file>', 'also record everything to a capture file (replay it with `mesh-trace replay FILE`)')
    .option('--snaplen <bytes>', 'with -w: also record the first bytes of each packet, from its IP header on (default 0: headers only)')
    .addHelpText(
      'after',
      `
Examples:
  mesh-trace --port 1080                     every flow to or from port 1080, as paths
  mesh-trace --port 1080 --count 1 --json    the next flow as one NDJSON record
  mesh-trace --service web --duration 30     the flows of service "web" for 30 seconds
  mesh-trace --port 1080 -w web.mtrace       trace, and keep a capture to replay elsewhere`,
    )
    .action(action((opts: LiveFlowOptions) => runLiveFlows(opts, true)));
}
