// Opening an input file (a capture, a pcap, a topology) for reading by offset: the readers
// read frames and packets where an index says they are, and look again at the start, which
// a pipe cannot do. Every way an input cannot be opened is one sentence, the same for each
// kind of file: missing, a directory, not allowed, or not a file at all (`-`,
// `<(ssh host cat capture)`, a FIFO), which says how to make it one.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { MeshTraceError } from '../errors.js';

export interface InputFile {
  fd: number;
  size: number;
}

const SAVE_FIRST = 'Save it to a file first (e.g. `ssh host cat capture.mtrace > capture.mtrace`) and give that file.';

export function openInput(path: string): InputFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannotRead(path, err as NodeJS.ErrnoException);
  }
  let refused: MeshTraceError | undefined;
  let size = 0;
  try {
    const st = fstatSync(fd);
    size = st.size;
    if (st.isDirectory()) refused = new MeshTraceError('NOT_FOUND', `Cannot read ${path}: it is a directory.`);
    else if (!st.isFile() && !st.isBlockDevice()) refused = notAFile(path, st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'a character device');
  } catch (err) {
    refused = new MeshTraceError('NOT_FOUND', `Cannot read ${path}: ${(err as Error).message}.`);
  }
  if (refused) {
    closeSync(fd);
    throw refused;
  }
  return { fd, size };
}

function notAFile(path: string, kind: string): MeshTraceError {
  return new MeshTraceError('NOT_FOUND', `Cannot read ${path}: it is ${kind}, and mesh-trace reads its input by offset, from a file.`, { hint: SAVE_FIRST });
}

function cannotRead(path: string, e: NodeJS.ErrnoException): MeshTraceError {
  if (e.code === 'ENOENT' && path === '-') {
    return new MeshTraceError('NOT_FOUND', 'Cannot read -: mesh-trace reads its input from a file, not from standard input.', { hint: SAVE_FIRST });
  }
  // a socket (a standard input some programs hand over) cannot be opened by its /proc name
  if (e.code === 'ENXIO') return notAFile(path, 'a socket');
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
  return new MeshTraceError('NOT_FOUND', `Cannot read ${path}: ${why}.`);
}
