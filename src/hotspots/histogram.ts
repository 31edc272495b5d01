// Latency distribution of one edge. Quantiles come from an HdrHistogram (hdr-histogram-js:
// 3 significant digits, bounded memory however many flows are added, so a long live run
// cannot grow without limit); the bars drawn in the reports are quarter-octave bins kept
// beside it, which HdrHistogram's API does not expose in a drawable form.
import * as hdr from 'hdr-histogram-js';

/** quarter-octave bins: each bar covers ×1.19, fine enough to see a 1 ms step above 100 µs */
const BINS_PER_OCTAVE = 4;
const MAX_NS = 3_600e9;

export interface HistogramBin {
  /** lower and upper bound of the bin, ns */
  lo_ns: number;
  hi_ns: number;
  count: number;
}

export interface LatencySummary {
  count: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  max_ns: number;
  sum_ns: number;
}

export class LatencyHistogram {
  private readonly h = hdr.build({ bitBucketSize: 'packed', useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: MAX_NS, numberOfSignificantValueDigits: 3 });
  private readonly bins = new Map<number, number>();
  private sum = 0;
  private max = 0;

  record(ns: number): void {
    // 0 ns happens (two hooks in one call); HdrHistogram's lowest bucket holds it as 1 ns
    const v = Math.min(Math.max(Math.round(ns), 0), MAX_NS);
    this.h.recordValue(Math.max(v, 1));
    const b = v < 1 ? 0 : Math.floor(Math.log2(v) * BINS_PER_OCTAVE);
    this.bins.set(b, (this.bins.get(b) ?? 0) + 1);
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  get count(): number {
    return this.h.totalCount;
  }

  summary(): LatencySummary {
    const n = this.h.totalCount;
    const q = (p: number) => (n ? Math.min(this.h.getValueAtPercentile(p), this.max) : 0);
    return { count: n, p50_ns: q(50), p90_ns: q(90), p99_ns: q(99), max_ns: this.max, sum_ns: this.sum };
  }

  /** the bars from the lowest bin with a count to the highest, empty ones included */
  histogram(): HistogramBin[] {
    if (!this.bins.size) return [];
    const keys = [...this.bins.keys()];
    const lo = Math.min(...keys);
    const hi = Math.max(...keys);
    const out: HistogramBin[] = [];
    for (let b = lo; b <= hi; b++) {
      out.push({ lo_ns: Math.round(2 ** (b / BINS_PER_OCTAVE)), hi_ns: Math.round(2 ** ((b + 1) / BINS_PER_OCTAVE)), count: this.bins.get(b) ?? 0 });
    }
    return out;
  }
}
