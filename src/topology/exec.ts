// Runs a program with an argument array, never through a shell: names of containers and
// networks (spaces, quotes, `$()`, non-ASCII) reach the program as single arguments and
// execute nothing.
import { execFile, spawn } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** resolve with the exit code instead of rejecting on failure */
  allowFailure?: boolean;
}

export class CommandFailed extends Error {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
  ) {
    super(`${argv.join(' ')} exited with ${result.code}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandFailed';
  }
}

export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 30_000 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
        if (e && typeof e.code === 'string') {
          // ENOENT and friends: the program itself is missing.
          const r = { stdout: stdout ?? '', stderr: `${file}: ${e.message}`, code: 127 };
          return opts.allowFailure ? resolve(r) : reject(new CommandFailed([file, ...args], r));
        }
        const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
        const r = { stdout, stderr, code };
        if (code !== 0 && !opts.allowFailure) reject(new CommandFailed([file, ...args], r));
        else resolve(r);
      },
    );
    // a program that exits before reading its input (nc refused) closes the pipe: not an error here
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** The argv that runs `argv` inside the network namespace at `nsPath` (no mount namespace change). */
export function inNetns(nsPath: string | undefined, argv: string[]): [string, string[]] {
  if (!nsPath) return [argv[0], argv.slice(1)];
  return ['nsenter', [`--net=${nsPath}`, '--', ...argv]];
}

export function runIn(nsPath: string | undefined, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [f, a] = inNetns(nsPath, argv);
  return run(f, a, opts);
}

/** Starts a long-running program detached from us (it outlives this process), returning its pid. */
export function spawnDetached(file: string, args: string[]): number {
  const child = spawn(file, args, { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return child.pid;
}
