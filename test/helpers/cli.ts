// The built CLI in a child process, as a user runs it: start it, wait until it says it is
// tracing or recording (or exits early), do `send`, and collect its output and exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'bin', 'mesh-trace.js');

export interface CliRun {
  out: string;
  err: string;
  code: number | null;
}

/** `send` gets the child too (to signal it, as Ctrl-C does) */
export async function runTracing(args: string[], send: (child: ChildProcess) => unknown | Promise<unknown>): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  const ready = new Promise<void>((resolve) => child.stderr.on('data', (d) => ((err += d), /tracing|recording/.test(err) && resolve())));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await Promise.race([ready, exited]);
  await send(child);
  const code = await exited;
  return { out, err, code };
}

/** the built CLI run to its end (no traffic to send) */
export async function runCli(args: string[]): Promise<CliRun> {
  return runTracing(args, () => undefined);
}
