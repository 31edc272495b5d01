// An skb as a number across nodes: each recording's clock (a node) gets a small number,
// and an skb is keyed clock × 2^48 + the address's low 48 bits (EventBatch.skbKey), which
// stays an exact double for up to MAX_CLOCKS clocks. The correlator's journey table and
// the replay filter's followed skbs key them alike.
import { MeshTraceError } from '../errors.js';

/** Up to this many clocks (nodes) are told apart: 31 × 2^48 stays below 2^53. */
export const MAX_CLOCKS = 31;
const SKB_SPAN = 2 ** 48;

/** the key of an skb (EventBatch.skbKey) on the clock numbered clockNo */
export function skbKey(clockNo: number, skb: number): number {
  return clockNo * SKB_SPAN + skb;
}

/** the skb address's low 48 bits, from its key */
export function skbOfKey(key: number): number {
  return key % SKB_SPAN;
}

/** Clock names → their numbers, in the order they first come. */
export class ClockNumbers {
  private readonly numbers = new Map<string, number>();

  of(clock: string): number {
    let n = this.numbers.get(clock);
    if (n === undefined) {
      if (this.numbers.size >= MAX_CLOCKS) {
        throw new MeshTraceError('BAD_INPUT', `Events from more than ${MAX_CLOCKS} clocks (nodes) cannot be correlated together.`, {
          hint: 'Replay the captures of fewer nodes at a time.',
        });
      }
      n = this.numbers.size;
      this.numbers.set(clock, n);
    }
    return n;
  }
}
