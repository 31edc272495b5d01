// A journey's records in time order, wherever they sit (its own log, or the batches they
// came in): what hops are built from. Record k is index[k] of batches[k], read through the
// batch's accessors: no record becomes an object, since most of a path's records only add
// a hook name to a hop, and its headers change only at a rewrite.
import type { EventBatch } from './decode.js';

export class RecordList {
  readonly batches: EventBatch[];
  readonly index: number[];
  length = 0;

  /** room for `size` records (a journey knows how many it has: no array grows) */
  constructor(size: number) {
    this.batches = new Array<EventBatch>(size);
    this.index = new Array<number>(size);
  }

  push(b: EventBatch, i: number): void {
    this.batches[this.length] = b;
    this.index[this.length++] = i;
  }

  /** Puts the records in time order; equal timestamps keep their arrival order. */
  sortByTime(): void {
    const n = this.length;
    const ts = new Array<number>(n);
    const pos = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      ts[k] = this.batches[k].tsNs(this.index[k]);
      pos[k] = k;
    }
    pos.sort((x, y) => ts[x] - ts[y] || x - y);
    const b = this.batches.slice(0, n);
    const i = this.index.slice(0, n);
    for (let k = 0; k < n; k++) {
      this.batches[k] = b[pos[k]];
      this.index[k] = i[pos[k]];
    }
  }
}
