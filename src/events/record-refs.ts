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
  /** further runs, flat: batch, start, end, batch, start, end, ... */
  private more: (EventBatch | number)[] | undefined;
  length = 0;

  append(b: EventBatch, i: number): void {
    this.appendRun(b, i, i + 1);
  }

  /** records from to end (not included) of b */
  appendRun(b: EventBatch, from: number, end: number): void {
    this.length += end - from;
    if (!this.batch0) {
      this.batch0 = b;
      this.start0 = from;
      this.end0 = end;
      return;
    }
    const m = this.more;
    if (!m) {
      if (this.batch0 === b && this.end0 === from) this.end0 = end;
      else this.more = [b, from, end];
      return;
    }
    const last = m.length - 3;
    if (m[last] === b && m[last + 2] === from) m[last + 2] = end;
    else m.push(b, from, end);
  }

  /** every record, in the order they were appended */
  forEach(fn: (b: EventBatch, i: number) => void): void {
    if (!this.batch0) return;
    for (let i = this.start0; i < this.end0; i++) fn(this.batch0, i);
    const m = this.more;
    if (!m) return;
    for (let r = 0; r < m.length; r += 3) {
      const b = m[r] as EventBatch;
      for (let i = m[r + 1] as number; i < (m[r + 2] as number); i++) fn(b, i);
    }
  }

  /** whether fn holds for any record (stops at the first) */
  some(fn: (b: EventBatch, i: number) => boolean): boolean {
    if (!this.batch0) return false;
    for (let i = this.start0; i < this.end0; i++) if (fn(this.batch0, i)) return true;
    const m = this.more;
    if (!m) return false;
    for (let r = 0; r < m.length; r += 3) {
      const b = m[r] as EventBatch;
      for (let i = m[r + 1] as number; i < (m[r + 2] as number); i++) if (fn(b, i)) return true;
    }
    return false;
  }
}
