// Standard output and error are the user's pipes, and any command may outlive them:
// `mesh-trace topology --json | head` closes standard output early, `2>&1 | head` standard
// error too, and `> /dev/full` fails every write. Node reports each as an 'error' event on
// the stream, which, unheard, ends the process with a stack trace.
//
// A closed pipe is how a reader says it has enough: the command goes on quietly, its writes
// dropped, and exits as it would have. Any other failure of standard output is told once,
// on standard error, with exit code 74 — unless the command's own writer listens (the flow
// output, which stops the run and says the same). Standard error failing has nowhere left
// to be told.
import { ExitCode } from '../errors.js';

export function guardStandardStreams(): void {
  let told = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || told || process.stdout.listenerCount('error') > 1) return;
    told = true;
    process.stderr.write(`mesh-trace: standard output could not be written (${err.code ?? err.message}); check where it goes (a full disk, a closed terminal).\n`);
    process.exitCode = ExitCode.IO_ERR;
  });
  process.stderr.on('error', () => {});
}
