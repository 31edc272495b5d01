// A read-ahead chunk lent to the replay (prefetch.ts): its batches are read in place, and
// journeys point into them until their flows are printed. Once the reader has moved past
// the chunk and no journey points into it, it goes back to the read-ahead thread, which
// reads the file on into it: memory fresh from the system costs a page fault per 4 KB, and
// a capture's worth of it would also have V8 count it all as external memory and collect
// its heap every 64 MB. Handing the chunk over detaches every view of it here, so a
// holder that was not counted fails loudly rather than reading other frames' bytes.
import type { BatchLease } from '../events/batch-lease.js';

export class ChunkLease implements BatchLease {
  /** the reader's own hold, until it moves to the next chunk */
  private holders = 1;

  constructor(
    private readonly buf: ArrayBuffer,
    private readonly giveBack: (buf: ArrayBuffer) => void,
  ) {}

  hold(): void {
    this.holders++;
  }

  drop(): void {
    if (--this.holders === 0) this.giveBack(this.buf);
  }
}
