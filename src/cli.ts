import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { ExitCode } from './errors.js';
import { guardStandardStreams } from './cli/std-streams.js';

export async function main(argv: string[]): Promise<void> {
  guardStandardStreams();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage mistakes exit 64 (commander already printed why)
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    throw err;
  }
}
