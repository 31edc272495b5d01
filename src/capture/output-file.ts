// Files a command writes besides standard output (a capture, a pcapng, a report, flow
// records): opened before the work starts, so a path that cannot be written is one
// sentence at once, not a crash or an internal error after minutes of tracing; and a write
// that fails later (a full disk) is one sentence too.
import { closeSync, fchmodSync, fstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { MeshTraceError } from '../errors.js';

/** why a path cannot be opened for writing, in words */
function why(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return 'its directory does not exist';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'EISDIR') return 'it is a directory';
  if (e.code === 'EROFS') return 'the file system is read-only';
  return e.message;
}

export interface Output {
  fd: number;
  /** the file did not exist before: ours to remove if the run fails */
  created: boolean;
}

/** Creates (or truncates) `path` for writing; `what` names it in the sentence ("the
 * capture", "the HTML report"), `option` in the hint. `private`: readable by its owner
 * only, an older file there too (what holds packets). A device or a pipe given as the path
 * (/dev/null, a FIFO) is written to, never chmodded. */
export function openOutput(path: string, what: string, option: string, opts: { private?: boolean } = {}): Output {
  const mode = opts.private ? 0o600 : 0o644;
  try {
    try {
      return { fd: openSync(path, 'wx', mode), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const fd = openSync(path, 'w', mode);
    // an existing file keeps its old mode through open(): set it
    if (opts.private && fstatSync(fd).isFile()) fchmodSync(fd, mode);
    return { fd, created: false };
  } catch (err) {
    throw new MeshTraceError('OUTPUT', `Cannot write ${what} to ${path}: ${why(err as NodeJS.ErrnoException)}.`, { hint: `Choose a writable path with ${option}.`, cause: err });
  }
}

/** writes all of `data` to an openOutput fd; a failure (a full disk) is said as such */
export function writeOutput(fd: number, path: string, what: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    for (let at = 0; at < bytes.byteLength; ) at += writeSync(fd, bytes, at, bytes.byteLength - at);
  } catch (err) {
    throw new MeshTraceError('IO', `Cannot write ${what} to ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { hint: 'Check the disk it is on (a full disk, a removed device).', cause: err });
  }
}

/** Files this run created that hold nothing of value yet (a report written at the end, a
 * pcapng before its first packet). A run that exits before writing them (a second Ctrl-C
 * exits at once, an error) removes them: it leaves no empty files behind. */
const heldEmpty = new Set<string>();
let exitHooked = false;

/** path was created by this run and is empty of anything useful until kept */
export function holdEmpty(path: string): void {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => heldEmpty.forEach(removeOutput));
  }
  heldEmpty.add(path);
}

/** path holds something now (or its run finished): it stays, whatever happens next */
export function keep(path: string): void {
  heldEmpty.delete(path);
}

/** removes path if it is still held empty */
export function dropIfEmpty(path: string): void {
  if (heldEmpty.delete(path)) removeOutput(path);
}

/** removes an output file this run created (never one that was there before it, nor a
 * device or a pipe given as the path) */
export function removeOutput(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

export function closeOutput(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closing a file written with writeSync loses nothing
  }
}

/** A file a command writes once its work is done (or as it goes), opened before the work
 * starts. A run that fails before writing it leaves nothing behind: discard() removes it,
 * if this run created it, unless something was written or close() kept it; an exit before
 * either (holdEmpty) does too. */
export class OutputFile {
  private fd: number | undefined;

  constructor(
    readonly path: string,
    private readonly what: string,
    option: string,
  ) {
    const out = openOutput(path, what, option);
    this.fd = out.fd;
    if (out.created) holdEmpty(path);
  }

  write(data: string | Uint8Array): void {
    if (this.fd === undefined) return;
    writeOutput(this.fd, this.path, this.what, data);
    if (data.length) keep(this.path);
  }

  /** written: keep it */
  close(): void {
    if (this.fd !== undefined) closeOutput(this.fd);
    this.fd = undefined;
    keep(this.path);
  }

  /** the run failed before close(): remove it if it was created and nothing was written */
  discard(): void {
    if (this.fd === undefined) return;
    closeOutput(this.fd);
    this.fd = undefined;
    dropIfEmpty(this.path);
  }
}
