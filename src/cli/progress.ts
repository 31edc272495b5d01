// A progress line on stderr for long replays: position in the input and events per second.
// Only on a terminal, and only once a replay has run for a second (short ones stay quiet);
// a pipe or a file gets nothing.
export class Progress {
  private readonly start = Date.now();
  private lastDraw = 0;
  private shown = false;
  private readonly on: boolean;

  constructor(
    private readonly total: number,
    private readonly what: string,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = !!stream.isTTY && !process.env.MESH_TRACE_NO_PROGRESS;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** cheap to call often: draws at most five times a second */
  update(position: number, events: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.start < 1000 || now - this.lastDraw < 200) return;
    this.lastDraw = now;
    this.shown = true;
    const secs = (now - this.start) / 1000;
    const pct = this.total ? Math.min(100, (100 * position) / this.total) : 0;
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    const rate = events / secs;
    const rateText = rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M ` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)} k ` : `${rate.toFixed(0)} `;
    this.stream.write(`\r${this.what} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%  ${mb(position)}/${mb(this.total)}  ${rateText}events/s `);
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

const mb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`);
