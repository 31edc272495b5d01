// Where a journey's records are while they are still in the batches they came in: runs of
// consecutive indexes in a batch. One CPU hands the kernel's records of a packet over one
// after another, so a journey is mostly one run — three numbers, not an entry per event,
// which matters for what a replay keeps alive between the collector's passes.
import type { EventBatch } from './decode.js';

export class RecordRefs {
  /** the first run: batch, first index, one past the last */
  private batch0: EventBatch | undefined;
  private start0 = 0;
  private end0 = 0;
  /** The records after the first run, flat: a batch says the numbers after it are its
   * records; a number n >= 0 is record n, and -k the k records after the one before it.
   * Packets in flight at once interleave their records in the batches (a busy host, a
   * ring shared by CPUs), so a journey is then mostly single records: one number each,
   * not a batch and two numbers — a journey of a routing-mesh packet kept 1.4 KB of runs
   * alive, copied by every young-generation collection while its flow lingered. */
  private more: (EventBatch | number)[] | undefined;
  /** the batch of the last record appended, and one past that record's index */
  private lastBatch: EventBatch | undefined;
  private next = 0;
  length = 0;

  append(b: EventBatch, i: number): void {
    this.appendRun(b, i, i + 1);
  }

  /** records from to end (not included) of b */
  appendRun(b: EventBatch, from: number, end: number): void {
    this.length += end - from;
    if (!this.batch0) {
      b.lease?.hold();
      this.batch0 = b;
      this.start0 = from;
      this.end0 = end;
      return;
    }
    let m = this.more;
    if (!m) {
      if (this.batch0 === b && this.end0 === from) {
        this.end0 = end;
        return;
      }
      m = this.more = [];
      this.lastBatch = this.batch0;
      this.next = this.end0;
    }
    if (b !== this.lastBatch) {
      b.lease?.hold();
      m.push(b);
      this.lastBatch = b;
      this.next = -1;
    }
    const last = m.length - 1;
    if (from === this.next) {
      // m[last] is a number: a batch pushed just now set next to -1
      const tail = m[last] as number;
      if (tail < 0) m[last] = tail - (end - from);
      else m.push(-(end - from));
    } else {
      m.push(from);
      if (end - from > 1) m.push(-(end - from - 1));
    }
    this.next = end;
  }

  /** forgets every record (they moved elsewhere, or will never be read) */
  clearRefs(): void {
    // each batch it pointed into, as often as it started to (appendRun)
    this.batch0?.lease?.drop();
    const m = this.more;
    if (m) for (let k = 0; k < m.length; k++) if (typeof m[k] !== 'number') (m[k] as EventBatch).lease?.drop();
    this.batch0 = undefined;
    this.more = undefined;
    this.lastBatch = undefined;
    this.start0 = this.end0 = this.next = this.length = 0;
  }

  /** every record, in the order they were appended */
  forEach(fn: (b: EventBatch, i: number) => void): void {
    this.some((b, i) => {
      fn(b, i);
      return false;
    });
  }

  /** whether fn holds for any record (stops at the first) */
  some(fn: (b: EventBatch, i: number) => boolean): boolean {
    let b = this.batch0;
    if (!b) return false;
    for (let i = this.start0; i < this.end0; i++) if (fn(b, i)) return true;
    const m = this.more;
    if (!m) return false;
    let last = -1;
    for (let k = 0; k < m.length; k++) {
      const e = m[k];
      if (typeof e !== 'number') b = e;
      else if (e >= 0) {
        if (fn(b, e)) return true;
        last = e;
      } else {
        for (let n = 0; n < -e; n++) if (fn(b, ++last)) return true;
      }
    }
    return false;
  }
}
