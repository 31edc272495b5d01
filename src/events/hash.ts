// The 53-bit hashes records and keys are indexed by (EventBatch.datagramHash, keyHash):
// two 32-bit lanes, each word mixed in with murmur3's steps, then finished into one number
// a Float64Array holds exactly. Pure functions of int32s: lanes kept in module variables
// would be boxed at every store.

/** lane A's step */
export function mixA(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}

/** lane B's step */
export function mixB(h: number, w: number): number {
  return (Math.imul(h ^ w ^ (h >>> 15), 0x2c1b3c6d) + 0x297a2d39) | 0;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** the two lanes as one 53-bit number: lane A whole, the top 21 bits of lane B */
export function hash53(a: number, c: number): number {
  return fmix(a) * 2097152 + (fmix(c ^ a) >>> 11);
}
