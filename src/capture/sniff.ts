// What kind of input a file is, from its first bytes: a mesh-trace capture, a pcap or a
// pcapng. Anything else gets one sentence that says what it starts with.
import { closeSync, readSync, readFileSync } from 'node:fs';
import { MeshTraceError } from '../errors.js';
import { openInput } from './input-file.js';
import { pcapKind } from '../pcap/read.js';
import type { TopologySnapshot } from '../topology/model.js';
import { isCapture } from './format.js';
import { CaptureReader } from './reader.js';

export type InputKind = 'capture' | 'pcap' | 'pcapng';

/** the first bytes of a readable, non-empty file */
function head(path: string): Buffer {
  let buf = Buffer.alloc(8);
  const { fd } = openInput(path);
  try {
    buf = buf.subarray(0, readSync(fd, buf, 0, 8, 0));
  } catch (err) {
    throw new MeshTraceError('NOT_FOUND', `Cannot read ${path}: ${(err as Error).message}.`);
  } finally {
    closeSync(fd);
  }
  if (!buf.byteLength) throw new MeshTraceError('BAD_INPUT', `${path} is empty.`, { hint: 'A recording that was stopped before it started holds nothing; record again.' });
  return buf;
}

function kindOf(h: Buffer): InputKind | undefined {
  return isCapture(h) ? 'capture' : pcapKind(h);
}

/** the kind of a readable, non-empty file, or undefined when it is none of ours */
export function sniffInput(path: string): InputKind | undefined {
  return kindOf(head(path));
}

export function inputKind(path: string): InputKind {
  const h = head(path);
  const kind = kindOf(h);
  if (kind) return kind;
  const hex = [...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new MeshTraceError('BAD_INPUT', `${path} is not a mesh-trace capture, pcap or pcapng file (it starts with ${hex}).`, {
    hint: 'Give a file from `mesh-trace record`, `tcpdump -w` or `tshark -w`.',
  });
}

/** a topology to name pcap devices by: `mesh-trace topology --json`, or a capture's first */
export function loadTopology(path: string): TopologySnapshot {
  const kind = sniffInput(path) ?? 'json';
  if (kind === 'capture') {
    const r = new CaptureReader(path);
    try {
      for (const it of r.items()) if (it.kind === 'topology') return it.snapshot;
    } finally {
      r.close();
    }
    throw new MeshTraceError('BAD_INPUT', `${path} holds no topology snapshot.`);
  }
  if (kind !== 'json') throw new MeshTraceError('USAGE', `${path} is a ${kind} file, not a topology.`, { hint: 'Give the output of `mesh-trace topology --json`, or a mesh-trace capture.' });
  let snap: TopologySnapshot;
  try {
    snap = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MeshTraceError('BAD_INPUT', `${path} is not a topology: ${(err as Error).message}.`, { hint: 'Give the output of `mesh-trace topology --json`, or a mesh-trace capture.' });
  }
  if (!snap || typeof snap !== 'object' || !Array.isArray(snap.netns)) {
    throw new MeshTraceError('BAD_INPUT', `${path} is JSON but not a topology (it has no "netns" list).`, { hint: 'Give the output of `mesh-trace topology --json`.' });
  }
  return snap;
}
