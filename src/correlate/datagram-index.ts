// The packets in flight, by datagram (EventBatch.datagramHash): what clone detection asks
// for every new form a packet takes. A hash table of its own, open addressing over typed
// arrays: a JS Map keyed by 53-bit numbers boxes each key and spent ~125 ns an operation,
// a tenth of a replay; this is a few array reads.
import type { Journey } from './journey.js';

const EMPTY = -1;

export class DatagramIndex {
  /** datagram hashes (EMPTY where free), linear probing from hash & mask */
  private keys: Float64Array;
  private values: (Journey | undefined)[];
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.values = new Array<Journey | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get(key: number): Journey | undefined {
    const keys = this.keys;
    for (let s = key & this.mask; ; s = (s + 1) & this.mask) {
      const k = keys[s];
      if (k === key) return this.values[s];
      if (k === EMPTY) return undefined;
    }
  }

  set(key: number, j: Journey): void {
    const keys = this.keys;
    let s = key & this.mask;
    for (; keys[s] !== EMPTY; s = (s + 1) & this.mask) {
      if (keys[s] === key) {
        this.values[s] = j;
        return;
      }
    }
    keys[s] = key;
    this.values[s] = j;
    // at most half full: probes stay short
    if (++this.size * 2 > keys.length) this.grow();
  }

  /** takes key out if it still points at j */
  deleteIf(key: number, j: Journey): void {
    const keys = this.keys;
    const mask = this.mask;
    let s = key & mask;
    for (; keys[s] !== key; s = (s + 1) & mask) if (keys[s] === EMPTY) return;
    if (this.values[s] !== j) return;
    // backward-shift deletion: later entries of the run move up into the hole, so no
    // tombstones pile up as packets come and go
    let hole = s;
    for (let n = (hole + 1) & mask; keys[n] !== EMPTY; n = (n + 1) & mask) {
      const home = keys[n] & mask;
      // the entry at n may fill the hole when its home is not in (hole, n] (cyclically)
      const between = hole <= n ? home > hole && home <= n : home > hole || home <= n;
      if (between) continue;
      keys[hole] = keys[n];
      this.values[hole] = this.values[n];
      hole = n;
    }
    keys[hole] = EMPTY;
    this.values[hole] = undefined;
    this.size--;
  }

  /** takes out every entry whose journey `drop` says to */
  deleteWhere(drop: (j: Journey) => boolean): void {
    const doomedKeys: number[] = [];
    const doomed: Journey[] = [];
    const keys = this.keys;
    for (let s = 0; s < keys.length; s++) {
      const j = this.values[s];
      if (keys[s] !== EMPTY && drop(j!)) {
        doomedKeys.push(keys[s]);
        doomed.push(j!);
      }
    }
    // one at a time: each deletion may shift the entries after it
    for (let d = 0; d < doomed.length; d++) this.deleteIf(doomedKeys[d], doomed[d]);
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.values = new Array<Journey | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.size = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== EMPTY) this.set(oldKeys[s], oldValues[s]!);
  }
}
