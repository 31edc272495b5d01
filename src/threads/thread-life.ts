// Whether a worker thread is still alive, as seen from a thread blocked in Atomics.wait.
// A replay's loop is synchronous: it waits for its read-ahead and record threads on shared
// counters, and never returns to the event loop where a worker's 'exit' and 'error' events
// would reach it. A thread that died without a word (its code failed to load, it threw
// outside its own handlers, it ran out of memory) would leave that loop waiting forever.
//
// So each such thread is started through a small bootstrap that, before its code loads,
// writes its kernel thread id into the shared words and hooks its exit to set a "gone"
// word and wake every waiter. The exit hook covers a failed load, a throw and
// process.exit; a thread killed for running out of memory runs no hook, but its
// /proc/self/task entry goes, which the waiter looks for whenever a wait times out.
import { existsSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/** the words a thread's shared state ends with: its thread id, and whether it is gone */
export const LIFE_WORDS = 2;

/** Runs in the new thread before its own code: the shared words are the last LIFE_WORDS of
 * workerData.shared. CommonJS (an eval'd worker), so nothing here can fail to resolve. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.shared);
const at = words.length - ${LIFE_WORDS};
try {
  words[at] = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/')[2]) || 0;
} catch {}
process.on('exit', () => {
  Atomics.store(words, at + 1, 1);
  for (let k = 0; k < words.length; k++) Atomics.notify(words, k);
});
import(workerData.entry).catch(() => {
  process.exitCode = 1;
});
`;

/** Starts the worker at `file` (its code reads workerData as usual); workerData.shared must
 * be a SharedArrayBuffer of Int32 words whose last LIFE_WORDS are left to this module. */
export function startWatched<T extends { shared: SharedArrayBuffer }>(file: string, workerData: T, transferList: TransferListItem[] = []): Worker {
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, entry: pathToFileURL(file).href }, transferList });
}

/** Whether the thread sharing `words` has ended: its exit hook said so, or the kernel no
 * longer has its thread. What it sent before it ended may still be unread: ask this first,
 * then look for messages; when none came and it was gone before you looked, none will. */
export function threadGone(words: Int32Array): boolean {
  const at = words.length - LIFE_WORDS;
  if (Atomics.load(words, at + 1) === 1) return true;
  const tid = Atomics.load(words, at);
  return tid > 0 && !existsSync(`/proc/self/task/${tid}`);
}

export interface WatchedThread {
  worker: Worker;
  /** this side of the thread's port (workerData.port is the other) */
  port: MessagePort;
  /** the shared words: `words` of the caller's, then LIFE_WORDS */
  state: Int32Array;
}

/** A replay's helper thread at `file`, watched (startWatched), with `words` shared Int32
 * words of its own and a message port, both given to it in workerData with `setup`; or
 * undefined when it cannot run (no compiled file, a thread that cannot start): the replay
 * then does without. It keeps no process alive, and what goes wrong in it reaches the
 * replay through the shared words, not as an event. */
export function startThread(file: string, words: number, setup: object): WatchedThread | undefined {
  if (!existsSync(file)) return undefined;
  const shared = new SharedArrayBuffer((words + LIFE_WORDS) * Int32Array.BYTES_PER_ELEMENT);
  const { port1, port2 } = new MessageChannel();
  let worker: Worker;
  try {
    worker = startWatched(file, { ...setup, shared, port: port2 }, [port2]);
  } catch {
    port1.close();
    return undefined;
  }
  worker.unref();
  worker.on('error', () => {});
  return { worker, port: port1, state: new Int32Array(shared) };
}
