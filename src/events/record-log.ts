// A journey's own copy of its records, for journeys that outlive the batches they came in
// (a flow still open after its packet was freed): 160 bytes per event instead of keeping
// whole batches, or a decoded object graph, alive. Decoded only when hops are built.
import { EventBatch } from './decode.js';
import { RECORD_SIZE } from './layout.js';

export class RecordLog {
  private bytes: Uint8Array;
  private count = 0;
  private view: EventBatch | undefined;

  constructor(capacity = 4) {
    this.bytes = new Uint8Array(Math.max(1, capacity) * RECORD_SIZE);
  }

  get length(): number {
    return this.count;
  }

  /** copies record i of b; returns its index here */
  append(b: EventBatch, i: number): number {
    const at = this.count * RECORD_SIZE;
    if (at + RECORD_SIZE > this.bytes.byteLength) {
      const grown = new Uint8Array(this.bytes.byteLength * 2);
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
    }
    b.copyRecord(i, this.bytes, at);
    this.view = undefined;
    return this.count++;
  }

  /** the records so far, to read (valid until the next append) */
  batch(): EventBatch {
    this.view ??= new EventBatch(this.bytes.subarray(0, this.count * RECORD_SIZE), this.count);
    return this.view;
  }
}
