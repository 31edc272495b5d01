// One road from events to flow records, whatever the events come from: live from the
// probe, from a recording, or from a pcap. Its inputs are the calls a source makes —
// topology(snapshot), batch(records), tick(now), finish() — and a recording stores exactly
// those calls, so a replay makes the same calls and gets the same records, byte for byte.
import type { EventBatch } from '../events/decode.js';
import type { ReplayFilter } from '../events/replay-filter.js';
import { createResolver, type Resolver } from '../topology/resolver.js';
import type { TopologySnapshot } from '../topology/model.js';
import { Correlator, type CorrelatorCounters } from './correlator.js';
import { FlowGate, type FlowFilterSpec } from './flow-filter.js';
import type { FlowRecord, FlowState } from './model.js';
import type { FinishedFlow } from './flow-record.js';
import { resolverNamer, type Namer } from './namer.js';

/** where a replay's finished flows become records, instead of here (cli/record-thread.ts):
 * it names them from the same snapshots, in the same order */
export interface RecordHandOff {
  topology(snap: TopologySnapshot): void;
  flow(f: FinishedFlow, idleState: FlowState): void;
  /** a tick (or the end) has handed on every flow it had */
  settled(): void;
  /** flows reported there, and left out by --container/--service/--netns */
  readonly reported: number;
  readonly filtered: number;
}

export interface PipelineOptions {
  /** --container, --service, --netns: resolved against the first topology snapshot */
  flows?: FlowFilterSpec;
  /** replays only: the kernel filter again, over the recorded events */
  events?: ReplayFilter;
  flowTimeoutNs?: number;
  /** CLOCK_MONOTONIC ns of a clock → wall-clock ns */
  wallClock: (clock: string, monoNs: number) => number;
  dropReason: (code: number) => string;
  /** the namer met a device it could not name (live: re-read the topology) */
  onUnknownDevice?: () => void;
  /** a namer other than the topology's (pcap imports name their own devices) */
  namer?: Namer;
  /** flow records, each handed on the moment it is built */
  onFlows: (flows: FlowRecord[]) => void;
  /** a tick (or the end) has handed on every record it had: a time to write out */
  onSettled?: () => void;
  /** finished flows become records there, not here (onFlows is then never called) */
  records?: RecordHandOff;
}

export class FlowPipeline {
  private resolver: Resolver | undefined;
  private snapshot: TopologySnapshot | undefined;
  /** --container/--service/--netns: resolved here even when records are built elsewhere,
   * so a name the topology lacks fails the replay the same way */
  private readonly gate: FlowGate;
  private readonly correlator: Correlator;

  constructor(private readonly o: PipelineOptions) {
    const gate = (this.gate = new FlowGate(o.flows));
    const records = o.records;
    this.correlator = new Correlator({
      namer: o.namer ?? resolverNamer(() => this.resolver, o.dropReason, o.onUnknownDevice),
      wallClock: o.wallClock,
      accept: gate.wanted && !records ? (f) => gate.accepts(f) : undefined,
      handOff: records ? (f, idle) => records.flow(f, idle) : undefined,
      ...(o.flowTimeoutNs !== undefined ? { flowTimeoutNs: o.flowTimeoutNs } : {}),
    });
  }

  /** names from now on come from this snapshot; the flow filter from the first one */
  topology(snap: TopologySnapshot): void {
    this.snapshot = snap;
    this.resolver = createResolver(snap);
    this.gate.topology(snap);
    this.o.records?.topology(snap);
  }

  batch(b: EventBatch, clock = 'local'): void {
    const f = this.o.events;
    if (!f || f.empty) this.correlator.pushBatch(b, clock);
    else this.correlator.pushBatch(b, clock, (i) => f.wants(b, i, clock));
  }

  /** the source's clock reached nowNs: flows that are done are reported */
  tick(nowNs: number): void {
    this.correlator.advance(nowNs, this.sink);
    this.settled();
  }

  /** the source ended: every flow still open is reported */
  finish(): void {
    this.correlator.flush(this.sink);
    this.settled();
  }

  private settled(): void {
    this.o.records?.settled();
    this.o.onSettled?.();
  }

  /** eventsFiltered: left out by a replay's filter; filterForgot: skbs and connections
   * it stopped following to stay bounded (later events of theirs may be left out too) */
  counters(): CorrelatorCounters & { eventsFiltered: number; filterForgot: number } {
    const c = this.correlator.counters();
    const r = this.o.records;
    if (r) {
      c.flowsReported = r.reported;
      c.flowsFiltered = r.filtered;
    }
    return { ...c, eventsFiltered: this.o.events?.filtered ?? 0, filterForgot: this.o.events?.forgotten ?? 0 };
  }

  hasTopology(): boolean {
    return this.snapshot !== undefined;
  }

  /** Each record goes out as soon as it is built, so that nothing here keeps it: records
   * held back in groups were alive at most young-generation collections, and V8 then
   * allocated every hop straight into the old generation (allocation-site pretenuring),
   * where the dead ones kept their young parts alive until the next full collection.
   * Grouping the writes is the output's business (FlowOutput keeps text, not records). */
  private readonly sink = (rec: FlowRecord): void => {
    this.o.onFlows([rec]);
  };
}
