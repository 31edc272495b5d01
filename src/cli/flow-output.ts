// Flow records to stdout, the same way for every source (live, recording, pcap): a path
// per flow for people, one NDJSON line per flow with --json; at most --count flows; live,
// never more held for a lagging reader than OUTPUT_BACKLOG_BYTES; and the closing summary
// on stderr with every counter of something lost.
import type { CorrelatorCounters, FlowRecord } from '../correlate/index.js';
import { flowText } from '../report/flow-text.js';
import { FlowJson } from '../report/flow-json.js';
import { LineBuffer } from './line-buffer.js';
import type { Style } from './style.js';
import { writeSync } from 'node:fs';
import { ExitCode } from '../errors.js';

export interface FlowOutputOptions {
  json?: boolean;
  count?: number;
  style: Style;
  /** monotonic ns → wall-clock ns, for the human view's times */
  clock: (monoNs: number) => number;
  /** --count was reached */
  onLimit?: () => void;
  /** false: count flows, print nothing (record) */
  print?: boolean;
  /** each flow that counts, for commands that do something else with flows (export) */
  sink?: (f: FlowRecord) => void;
  /** called before anything is written (a progress line clears itself) */
  beforeWrite?: () => void;
  /** standard output went away (`| head` closed the pipe, the disk filled up): nothing
   * more is printed, and the run may stop */
  onBroken?: () => void;
  /** a replay: a pipe's writes block while the reader lags, and fail at once when it is
   * gone (see blockOnFullPipe and writeNow) */
  blocking?: boolean;
  /** blocking: the descriptor written to (1, standard output, unless a test says) */
  fd?: number;
  /** where a failed write is told (standard error, unless a thread tells it itself) */
  warn?: (text: string) => void;
}

/** Node makes a stdout pipe non-blocking, where a write the reader cannot take yet fails
 * with EAGAIN. A replay's writes (writeNow) wait in the kernel instead: it goes at its
 * reader's pace, and a write fails there and then when the reader has left. */
export function blockOnFullPipe(): void {
  const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}

/** to sleep on while a full pipe drains (a replay waits for its reader) */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** text held back before a write: flows come one at a time, and a write each would be a
 * system call per flow */
const WRITE_BYTES = 64 * 1024;

/** what live tracing lets standard output hold for a reader that lags. It cannot wait for
 * the reader as a replay does: a blocked loop stops reading the probe's rings, and the
 * kernel drops events instead. A reader that keeps up, even in bursts, never gets near
 * this; one that stopped (`| less` left alone, a stuck consumer) would have every flow of
 * the run queued in memory, a few KB each, until the process runs out. 16 MiB is a few
 * thousand flows, and flows past it are counted, not queued. */
export const OUTPUT_BACKLOG_BYTES = 16 * 1024 * 1024;

export class FlowOutput {
  printed = 0;
  /** flows not printed because standard output held OUTPUT_BACKLOG_BYTES already (live) */
  dropped = 0;
  private closed = false;
  /** formatted flows not yet written: bytes, not records, so that a record dies as soon as
   * it is printed (see FlowPipeline's sink) */
  private readonly pending = new LineBuffer(WRITE_BYTES + 64 * 1024);
  /** --json: prints the records, reusing what recurs from one to the next */
  private readonly json = new FlowJson();
  /** the stdout error listener is in place (from the first write) */
  private listening = false;
  private broken = false;
  /** the lagging reader was told about once (it is a state of the run, not of each flow) */
  private toldLagging = false;
  /** what the run should exit with: 74 when standard output failed (not a closed pipe) */
  exitCode: number | undefined;

  constructor(private readonly o: FlowOutputOptions) {}

  get full(): boolean {
    return this.o.count !== undefined && this.printed >= this.o.count;
  }

  /** nothing more will be printed: --count was reached, or standard output went away (a
   * replay stops reading then) */
  get done(): boolean {
    return this.full || this.broken;
  }

  write(flows: FlowRecord[]): void {
    if (this.closed || !flows.length) return;
    for (const f of flows) {
      if (this.full) break;
      this.o.sink?.(f);
      if (this.o.print !== false) {
        // left out before it is formatted: a reader that stopped should cost nothing more
        if (this.readerLags()) {
          this.dropped++;
          continue;
        }
        // the human view leaves a blank line after each flow
        const text = this.o.json ? this.json.line(f) : `${flowText(f, this.o.style, this.o.clock)}\n`;
        if (!this.pending.fits(text)) this.flush();
        this.pending.add(text);
      }
      this.printed++;
    }
    if (this.pending.length >= WRITE_BYTES) this.flush();
    if (this.full) {
      this.flush();
      this.o.onLimit?.();
    }
  }

  /** live: standard output holds OUTPUT_BACKLOG_BYTES not yet taken by its reader, with
   * what is held back here. Asked again at every flow, so printing goes on as soon as the
   * reader has caught up enough. */
  private readerLags(): boolean {
    if (this.o.blocking || process.stdout.writableLength + this.pending.length < OUTPUT_BACKLOG_BYTES) return false;
    if (!this.toldLagging) {
      this.toldLagging = true;
      this.o.beforeWrite?.();
      process.stderr.write(
        `mesh-trace: the reader of standard output is not keeping up, so flows are left out (counted as lost output in the closing summary) until it catches up; send them to a file (> flows.ndjson with --json) and read them from there.\n`,
      );
    }
    return true;
  }

  /** writes what is held back (the pipeline settled: a tick's flows are all out) */
  flush(): void {
    if (!this.pending.length) return;
    const bytes = this.pending.bytes();
    this.o.beforeWrite?.();
    if (!this.listening) {
      process.stdout.on('error', this.onError);
      this.listening = true;
      if (this.o.blocking && (this.o.fd ?? 1) === 1) blockOnFullPipe();
    }
    if (this.o.blocking) {
      this.writeNow(bytes);
      this.pending.clear();
      return;
    }
    // the stream may keep what it is given until the reader takes it: a copy
    process.stdout.write(Buffer.from(bytes));
    this.pending.clear();
    // a failed write is reported only after the running loop yields: seen here, it stops
    // the run now
    const err = process.stdout.errored as NodeJS.ErrnoException | null;
    if (err) this.onError(err);
  }

  /** A replay writes past the stream, straight to the descriptor, so that a write fails
   * where it is made. Through the stream, a write the reader left in the middle of (`|
   * head -c 100` takes 100 bytes of a 100 KB write) failed for the rest only when the
   * loop ran again, which a replay's never does: every later write queued behind it in
   * memory, and the whole capture was read for nobody. */
  private writeNow(bytes: Buffer): void {
    for (let off = 0; off < bytes.byteLength; ) {
      try {
        off += writeSync(this.o.fd ?? 1, bytes, off);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // a descriptor shared with a process that made it non-blocking: wait for room
        if (e.code === 'EAGAIN') Atomics.wait(PAUSE, 0, 0, 1);
        else return this.onError(e);
      }
    }
  }

  /** A write failed (it says so later, on its own): `| head` closing the pipe is how a
   * reader says it has enough, anything else is told once, with exit code 74. */
  private readonly onError = (err: NodeJS.ErrnoException): void => {
    if (this.broken) return;
    this.broken = true;
    if (err.code !== 'EPIPE') {
      const text = `mesh-trace: the flows could not be written to standard output (${err.code ?? err.message}); check where it goes (a full disk, a closed terminal).\n`;
      if (this.o.warn) this.o.warn(text);
      else process.stderr.write(text);
      this.exitCode = process.exitCode = ExitCode.IO_ERR;
    }
    this.close(true);
    this.o.onBroken?.();
  };

  /** nothing more is printed after this (a pipe closed, or the run is over): what is held
   * back is written first, unless the pipe is gone */
  close(broken = false): void {
    if (!broken && !this.closed) this.flush();
    this.closed = true;
    this.pending.clear();
  }
}

/** what was lost outside the correlator: the kernel's ring and queue (live, or a
 * recording's counters) and, live, the flows a lagging reader was not given */
export interface Losses {
  ringFull: number;
  queueFull: number;
  /** FlowOutput.dropped; said only when some were, so that a run that lost none prints
   * the summary it always has */
  outputDropped?: number;
}

/** "3 flows (1 more filtered out) from 420 events; lost: ring 0, queue 0, …" */
export function flowSummary(printed: number, k: CorrelatorCounters & { eventsFiltered?: number; filterForgot?: number }, losses: Losses | undefined, tail = ''): string {
  const filtered = k.flowsFiltered ? ` (${k.flowsFiltered} more filtered out)` : '';
  const evFiltered = k.eventsFiltered ? ` (${k.eventsFiltered} more filtered out)` : '';
  const kernel = losses ? `ring ${losses.ringFull}, queue ${losses.queueFull}, ` : '';
  const output = losses?.outputDropped ? `output ${losses.outputDropped}, ` : '';
  // said only when some were, as output is
  const forgot = k.filterForgot ? `filter entries evicted ${k.filterForgot}, ` : '';
  return `${printed} flow${printed === 1 ? '' : 's'}${filtered} from ${k.events} events${evFiltered}; lost: ${kernel}${output}${forgot}flows evicted ${k.flowsEvicted}, journeys evicted ${k.journeysEvicted}, events truncated ${k.eventsTruncated}${tail}\n`;
}
