import { Command } from 'commander';
import { registerDoctor } from './commands/doctor.js';
import { registerEvents } from './commands/events.js';
import { registerHotspots } from './commands/hotspots.js';
import { registerLab } from './commands/lab.js';
import { registerTopology } from './commands/topology.js';
import { registerTrace } from './commands/trace.js';
import { registerRecord } from './commands/record.js';
import { registerReplay } from './commands/replay.js';
import { registerExport } from './commands/export.js';
import { readVersion } from '../version.js';

// The one place where commands are composed; each lives in its own file under commands/.
export function buildProgram(): Command {
  const program = new Command('mesh-trace')
    .description('Follow packets through the virtual network of a Docker or Swarm host, hop by hop.')
    .version(readVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    // options after a subcommand belong to it (`lab exec node1 ip -j link` passes -j on)
    .enablePositionalOptions()
    // usage mistakes throw (main() exits 64 for them) rather than exit 1 where they are
    // found: set before the subcommands are added, which copy it
    .exitOverride();
  registerTrace(program);
  registerRecord(program);
  registerReplay(program);
  registerExport(program);
  registerEvents(program);
  registerDoctor(program);
  registerLab(program);
  registerTopology(program);
  registerHotspots(program);
  return program;
}
