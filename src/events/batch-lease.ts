// Who lends a batch its memory, and would write it again once no one points into it: a
// replay's read-ahead chunks (capture/chunk-lease.ts). Journeys say when they start and
// stop pointing into a batch (RecordRefs). The count may err high — a journey dropped
// without letting go leaves its memory to the collector, as if never lent — never low.
export interface BatchLease {
  /** one more holder points into the memory */
  hold(): void;
  /** one holder no longer does */
  drop(): void;
}
