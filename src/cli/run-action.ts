import { ExitCode, MeshTraceError } from '../errors.js';

// Every command action goes through here: one clear sentence on stderr, the hint on the
// next line, and an exit code that means something. Stack traces only with MESH_TRACE_DEBUG.
export function reportError(err: unknown): number {
  if (err instanceof MeshTraceError) {
    process.stderr.write(`mesh-trace: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${err.hint}\n`);
    if (err.detail && process.env.MESH_TRACE_DEBUG) process.stderr.write(`${err.detail}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`mesh-trace: internal error: ${msg}\n`);
  if (process.env.MESH_TRACE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('  Run again with MESH_TRACE_DEBUG=1 for a stack trace, and please report it.\n');
  return ExitCode.INTERNAL;
}

export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : ExitCode.OK;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}
