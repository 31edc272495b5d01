// Which way each packet of a flow went, decided from the whole flow in time order (so the
// answer does not depend on the order batches arrived in): the first packet goes forward
// unless it is a SYN-ACK; a later packet seen with a tuple the forward packets had goes
// forward, one seen with such a tuple reversed is a reply.
import type { Journey } from './journey.js';
import { reverseKey } from '../events/tuple-key.js';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;

/** journeys in a fixed order: by first event, then by skb */
export function timeOrder(journeys: Journey[]): Journey[] {
  return [...journeys].sort((a, b) => a.firstTs - b.firstTs || a.skb - b.skb || (a.clock < b.clock ? -1 : 1));
}

/** Sets j.dir on every journey; returns the forward tuples in the order they were learnt.
 * `reverse`: reverseKey, or what the flow already knows of it. */
export function assignDirections(ordered: Journey[], reverse: (k: string) => string = reverseKey): string[] {
  // a flow has a handful of tuples (one per rewrite): a list, not a Set per flow
  const forward: string[] = [];
  for (const j of ordered) {
    const keys = j.orderedKeys();
    let dir: Journey['dir'];
    for (const k of keys) {
      if (forward.includes(k)) dir = 'forward';
      else if (forward.includes(reverse(k))) dir = 'reply';
      if (dir) break;
    }
    dir ??= forward.length === 0 && (j.tcpFlags & (SYN | ACK)) === (SYN | ACK) ? 'reply' : 'forward';
    j.dir = dir;
    for (const k of keys) {
      const f = dir === 'forward' ? k : reverse(k);
      if (!forward.includes(f)) forward.push(f);
    }
  }
  return forward;
}

/** a FIN seen each way (`assigned`: assignDirections already ran over these journeys) */
export function closedBothWays(ordered: Journey[], assigned = false): boolean {
  if (!assigned) assignDirections(ordered);
  let fwd = false;
  let rep = false;
  for (const j of ordered) {
    if (!(j.tcpFlags & FIN)) continue;
    if (j.dir === 'reply') rep = true;
    else fwd = true;
  }
  return fwd && rep;
}
