// Flow records to stdout, the same way for every source (live, recording, pcap): a path
// per flow for people, one NDJSON line per flow with --json; at most --count flows; and
// the closing summary on stderr with every counter of something lost.
import type { CorrelatorCounters, FlowRecord } from '../correlate/index.js';
import { flowText } from '../report/flow-text.js';
import type { Style } from './style.js';

export interface FlowOutputOptions {
  json?: boolean;
  count?: number;
  style: Style;
  /** monotonic ns → wall-clock ns, for the human view's times */
  clock: (monoNs: number) => number;
  /** --count was reached */
  onLimit?: () => void;
  /** false: count flows, print nothing (record) */
  print?: boolean;
  /** each flow that counts, for commands that do something else with flows (export) */
  sink?: (f: FlowRecord) => void;
  /** called before anything is written (a progress line clears itself) */
  beforeWrite?: () => void;
}

export class FlowOutput {
  printed = 0;
  private closed = false;

  constructor(private readonly o: FlowOutputOptions) {}

  get full(): boolean {
    return this.o.count !== undefined && this.printed >= this.o.count;
  }

  write(flows: FlowRecord[]): void {
    if (this.closed || !flows.length) return;
    const out: string[] = [];
    for (const f of flows) {
      if (this.full) break;
      this.o.sink?.(f);
      if (this.o.print !== false) out.push(this.o.json ? JSON.stringify(f) : `${flowText(f, this.o.style, this.o.clock)}\n`);
      this.printed++;
    }
    if (out.length) {
      this.o.beforeWrite?.();
      process.stdout.write(out.join('\n') + '\n');
    }
    if (this.full) this.o.onLimit?.();
  }

  /** nothing more is printed after this (a pipe closed, or the run is over) */
  close(): void {
    this.closed = true;
  }
}

export interface Losses {
  ringFull: number;
  queueFull: number;
}

/** "3 flows (1 more filtered out) from 420 events; lost: ring 0, queue 0, …" */
export function flowSummary(printed: number, k: CorrelatorCounters & { eventsFiltered?: number }, losses: Losses | undefined, tail = ''): string {
  const filtered = k.flowsFiltered ? ` (${k.flowsFiltered} more filtered out)` : '';
  const evFiltered = k.eventsFiltered ? ` (${k.eventsFiltered} more filtered out)` : '';
  const kernel = losses ? `ring ${losses.ringFull}, queue ${losses.queueFull}, ` : '';
  return `${printed} flow${printed === 1 ? '' : 's'}${filtered} from ${k.events} events${evFiltered}; lost: ${kernel}flows evicted ${k.flowsEvicted}, journeys evicted ${k.journeysEvicted}, events truncated ${k.eventsTruncated}${tail}\n`;
}
