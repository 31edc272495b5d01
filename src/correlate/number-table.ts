// A hash table from numbers to values, open addressing over typed arrays: the correlator's
// tables keyed by 48- and 53-bit numbers (skb addresses, datagram hashes). A JS Map boxes
// such keys, spent ~125 ns an operation on them, and reallocated its whole table as it
// grew and shrank with the packets in flight; here an operation is a few array reads.

const EMPTY = -1;

/** A key's home slot: its bits mixed first, since the keys that come are anything but
 * random (skb addresses are slab objects a cache line or more apart; a pcap's are 1, 2, 3…)
 * and a linear-probing table fed them raw builds runs thousands of slots long. */
function home(key: number, mask: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & mask;
}

export class NumberTable<V> {
  /** keys (EMPTY where free; keys are never negative), linear probing from home() */
  private keys: Float64Array;
  private values: (V | undefined)[];
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.values = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  /** slots, occupied or not (for a scan with keyAt/valueAt) */
  get capacity(): number {
    return this.keys.length;
  }
  /** the key in slot s, -1 when it is free */
  keyAt(s: number): number {
    return this.keys[s];
  }
  valueAt(s: number): V | undefined {
    return this.values[s];
  }

  get(key: number): V | undefined {
    const keys = this.keys;
    for (let s = home(key, this.mask); ; s = (s + 1) & this.mask) {
      const k = keys[s];
      if (k === key) return this.values[s];
      if (k === EMPTY) return undefined;
    }
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  set(key: number, v: V): void {
    const keys = this.keys;
    let s = home(key, this.mask);
    for (; keys[s] !== EMPTY; s = (s + 1) & this.mask) {
      if (keys[s] === key) {
        this.values[s] = v;
        return;
      }
    }
    keys[s] = key;
    this.values[s] = v;
    // at most half full: probes stay short
    if (++this.size * 2 > keys.length) this.grow();
  }

  delete(key: number): void {
    const s = this.slotOf(key);
    if (s >= 0) this.empty(s);
  }

  /** takes key out if it still holds v */
  deleteIf(key: number, v: V): void {
    const s = this.slotOf(key);
    if (s >= 0 && this.values[s] === v) this.empty(s);
  }

  /** takes out every entry `drop` says to */
  deleteWhere(drop: (v: V, key: number) => boolean): void {
    const doomed: number[] = [];
    const keys = this.keys;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== EMPTY && drop(this.values[s]!, keys[s])) doomed.push(keys[s]);
    // one at a time: each deletion may shift the entries after it
    for (let d = 0; d < doomed.length; d++) this.delete(doomed[d]);
  }

  private slotOf(key: number): number {
    const keys = this.keys;
    for (let s = home(key, this.mask); ; s = (s + 1) & this.mask) {
      const k = keys[s];
      if (k === key) return s;
      if (k === EMPTY) return -1;
    }
  }

  /** Backward-shift deletion: later entries of the run move up into the hole, so no
   * tombstones pile up as packets come and go. */
  private empty(s: number): void {
    const keys = this.keys;
    const mask = this.mask;
    let hole = s;
    for (let n = (hole + 1) & mask; keys[n] !== EMPTY; n = (n + 1) & mask) {
      const h = home(keys[n], mask);
      // the entry at n stays when its home is in (hole, n], cyclically
      const stays = hole <= n ? h > hole && h <= n : h > hole || h <= n;
      if (stays) continue;
      keys[hole] = keys[n];
      this.values[hole] = this.values[n];
      hole = n;
    }
    keys[hole] = EMPTY;
    this.values[hole] = undefined;
    this.size--;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.values = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.size = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== EMPTY) this.set(oldKeys[s], oldValues[s]!);
  }
}
