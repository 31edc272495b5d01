// A set that keeps at most `capacity` members, forgetting the least recently added (or
// renewed) one to make room: the replay filter's followed skbs and tuples, bounded as the
// kernel's LRU maps bound them (bpf/maps.h), so that a long replay's memory does not grow
// with every connection it ever followed. What it forgot is counted.
export class BoundedSet<K> {
  /** insertion order is recency order: the first member is the one to forget */
  private readonly members = new Set<K>();
  /** members forgotten to make room */
  forgotten = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.members.size;
  }

  has(k: K): boolean {
    return this.members.has(k);
  }

  /** k is a member, the most recent one */
  add(k: K): void {
    if (this.members.delete(k)) {
      this.members.add(k);
      return;
    }
    this.members.add(k);
    if (this.members.size > this.capacity) {
      const oldest = this.members.values().next().value as K;
      this.members.delete(oldest);
      this.forgotten++;
    }
  }

  delete(k: K): void {
    this.members.delete(k);
  }
}
