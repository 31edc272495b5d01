// A large replay builds its flow records on a thread of its own (record-worker.ts): the
// replay's thread reads and correlates, and hands each finished flow over as bytes
// (record-wire.ts); the other builds, filters, numbers and prints the records. Building a
// record costs as much as correlating its events, so the two halves run side by side.
// The output is the same as one thread's: the same flows in the same order, named from the
// same snapshots (sent in order between them), printed by the same FlowOutput. A thread
// that dies without a word (thread-life.ts) stops the replay with an error, not a wait.
import { type Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { FinishedFlow } from '../correlate/flow-record.js';
import type { FlowFilterSpec } from '../correlate/flow-filter.js';
import type { FlowState } from '../correlate/model.js';
import type { RecordHandOff } from '../correlate/pipeline.js';
import { WireWriter, wireBuffers } from '../correlate/record-wire.js';
import type { TopologySnapshot } from '../topology/model.js';
import { MeshTraceError, type ErrorCode } from '../errors.js';
import { blockOnFullPipe } from './flow-output.js';
import { startThread, threadGone } from '../threads/thread-life.js';

/** shared words: flows the thread has taken, output is done (--count, a closed pipe, an
 * error), the thread has said its last */
export const DONE = 0;
export const STOP = 1;
export const FINISHED = 2;

/** a recording at least this large builds its records on the thread (a small one is over
 * before a thread has started) */
export const RECORD_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/** flows handed over at once (a tick's, or this many) */
const BATCH_FLOWS = 256;
/** batches handed over and not yet handed back before the replay waits: a thread slower
 * than the replay (printing NDJSON) would otherwise have the whole capture's flows queued,
 * and the same few buffers are written again and again, warm, instead of fresh memory for
 * each (at most this many times BATCH_FLOWS flows are ahead) */
const MAX_BATCHES_AHEAD = 8;

export interface RecordWorkerSetup {
  json?: boolean;
  color: boolean;
  /** false: build and count the records, print nothing (the benchmark) */
  print?: boolean;
  /** where the records go: 1 (standard output), or a test's file */
  fd: number;
  clock: { wallNs: number; monotonicNs: number };
  dropReasons: Record<number, string>;
  flows: FlowFilterSpec;
  shared: SharedArrayBuffer;
  port: MessagePort;
}

export type RecordThreadMessage =
  | { kind: 'done'; printed: number; reported: number; filtered: number; exitCode?: number }
  | { kind: 'error'; message: string; code?: ErrorCode; hint?: string }
  /** a batch's buffers, read and handed back to be written again */
  | { kind: 'spare'; numbers: Float64Array; records: Uint8Array };
type LastWord = Exclude<RecordThreadMessage, { kind: 'spare' }>;

/** the compiled thread, found the same from dist/cli and, run by a test runner, from src/cli
 * (a thread runs JavaScript only: `npm test` builds dist first) */
const WORKER = new URL('../../dist/cli/record-worker.js', import.meta.url);

export class RecordThread implements RecordHandOff {
  private readonly writer = new WireWriter();
  private sent = 0;
  private result: { printed: number; reported: number; filtered: number; exitCode?: number } | undefined;
  /** the thread ended without saying it was done */
  private lost = false;
  /** batches handed over whose buffers have not come back */
  private batchesAhead = 0;
  /** the thread's last word (done, or an error), when it came among spare buffers */
  private last: LastWord | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly state: Int32Array,
  ) {}

  /** the thread, or undefined when it cannot run (no compiled thread to start); `file`:
   * the thread's compiled file (tests: one that dies) */
  static start(setup: Omit<RecordWorkerSetup, 'shared' | 'port'>, file = fileURLToPath(WORKER)): RecordThread | undefined {
    const t = startThread(file, FINISHED + 1, setup);
    if (!t) return undefined;
    // the thread's writes wait for a slow reader in the kernel, as the replay's own would
    if (setup.fd === 1 && setup.print !== false) blockOnFullPipe();
    return new RecordThread(t.worker, t.port, t.state);
  }

  topology(snap: TopologySnapshot): void {
    this.send();
    this.port.postMessage({ kind: 'topology', snapshot: snap });
  }

  flow(f: FinishedFlow, idleState: FlowState): void {
    if (this.writer.full(f)) this.send();
    this.writer.add(f, idleState);
    if (this.writer.count >= BATCH_FLOWS) this.send();
  }

  settled(): void {
    this.send();
  }

  /** nothing more will be printed (--count reached, standard output gone, an error): the
   * replay stops reading */
  get done(): boolean {
    return this.lost || Atomics.load(this.state, STOP) === 1;
  }

  get reported(): number {
    return this.result?.reported ?? 0;
  }

  get filtered(): number {
    return this.result?.filtered ?? 0;
  }

  /** Waits for every flow handed over to be printed; what the thread printed, and the
   * exit code a failed write calls for. Throws what the thread threw. */
  finish(): { printed: number; exitCode?: number } {
    this.send();
    this.port.postMessage({ kind: 'end' });
    for (;;) {
      // asked before looking: its last word, if it said one, is then in the port
      const gone = threadGone(this.state);
      if (gone || Atomics.load(this.state, FINISHED) !== 0) break;
      Atomics.wait(this.state, DONE, Atomics.load(this.state, DONE), 1000);
    }
    const got = this.last ?? this.take();
    this.close();
    if (!got) throw this.died();
    if (got.kind === 'error') throw new MeshTraceError(got.code ?? 'INTERNAL', got.message, { hint: got.hint });
    this.result = got;
    return got;
  }

  close(): void {
    this.port.close();
    this.worker.terminate().catch(() => {});
  }

  /** the spare buffers the thread handed back, given to the writer; its last word, if it
   * came */
  private take(): LastWord | undefined {
    for (;;) {
      const m = receiveMessageOnPort(this.port)?.message as RecordThreadMessage | undefined;
      if (!m) return undefined;
      if (m.kind !== 'spare') return m;
      this.writer.recycle(m);
      this.batchesAhead--;
    }
  }

  /** hands over what was collected, then waits while the thread is too far behind */
  private send(): void {
    if (this.writer.count) {
      const m = this.writer.take();
      this.port.postMessage({ kind: 'flows', ...m }, wireBuffers(m));
      this.sent += m.count;
      this.batchesAhead++;
    }
    for (;;) {
      // its count first: a batch's buffers come back before it counts the batch's flows
      const taken = Atomics.load(this.state, DONE);
      this.last ??= this.take();
      if (this.batchesAhead <= MAX_BATCHES_AHEAD || this.done) return;
      // it takes no more: the replay stops reading, and finish() says why
      if (threadGone(this.state)) {
        this.lost = true;
        return;
      }
      Atomics.wait(this.state, DONE, taken, 1000);
    }
  }

  private died(): MeshTraceError {
    return new MeshTraceError('INTERNAL', `The thread printing the flows ended without a word after ${Atomics.load(this.state, DONE)} of ${this.sent} flows, so the output is incomplete.`, {
      hint: 'It may have run out of memory; run the replay again, and if it happens again, report it with the capture.',
    });
  }
}
