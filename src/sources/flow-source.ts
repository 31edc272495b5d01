// A flow source: where a command's flows come from (a live session, a file of flow
// records, later a capture replayed through the correlator). Commands that aggregate
// flows take one of these and never know which it is.
import type { FlowRecord } from '../correlate/model.js';

export interface FlowSource extends AsyncIterable<FlowRecord> {
  /** one line for stderr once the source has ended: what was read and what was lost */
  summary(): string;
  /** stop early (Ctrl-C): the flows still open are delivered, then iteration ends */
  stop(): void;
}
