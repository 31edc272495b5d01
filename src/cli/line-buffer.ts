// Lines of output held back before a write, as the bytes written: each line is encoded
// into one buffer that is written out and reused. Held as strings, the lines were joined
// into one text and that text encoded into a new Buffer at every write: the join and the
// encoding cost a replay as much as printing the lines did (a 10 KB NDJSON flow: 18 us to
// join, 24 us to encode into a new buffer; 6 us to encode into one already there).

/** UTF-8 takes at most 3 bytes for each UTF-16 unit of a string (a surrogate pair: 4 for 2) */
const MAX_BYTES_PER_UNIT = 3;

export class LineBuffer {
  private buf: Buffer;
  /** bytes held */
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** whether text and its newline fit without a write first */
  fits(text: string): boolean {
    return this.length + text.length * MAX_BYTES_PER_UNIT + 1 <= this.buf.length;
  }

  /** text and a newline after it; the caller has written out what was held when it did
   * not fit (a line longer than the buffer grows it) */
  add(text: string): void {
    if (!this.fits(text)) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.length + text.length * MAX_BYTES_PER_UNIT + 1));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += this.buf.write(text, this.length, 'utf8');
    this.buf[this.length++] = 0x0a;
  }

  /** the bytes held: valid until the next add or clear */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}
