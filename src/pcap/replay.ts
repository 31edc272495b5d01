// pcap/pcapng packets through the flow pipeline: events in batches (the kernel's record
// layout, so --port/--host/--proto filter them exactly as a recording's), and a clock tick
// every 100 ms of capture time, as the live tool ticks.
import { EventBatch, type PacketEvent } from '../events/decode.js';
import { encodeEventsWithPayload } from '../events/encode.js';
import type { FlowPipeline } from '../correlate/pipeline.js';
import type { PcapImport } from './import.js';

const BATCH = 1024;
const TICK_NS = 100e6;

export function replayPcap(
  imp: PcapImport,
  pipeline: FlowPipeline,
  opts: { stop?: () => boolean; progress?: (position: number, events: number) => void; onBatch?: (b: EventBatch) => void } = {},
): { events: number; damage?: unknown } {
  let events = 0;
  let nextTick = 0;
  const pending: PacketEvent[] = [];
  const flushBatch = () => {
    if (!pending.length) return;
    const { records, payload } = encodeEventsWithPayload(pending);
    const b = new EventBatch(records, undefined, payload);
    opts.onBatch?.(b);
    pipeline.batch(b, 'pcap');
    events += pending.length;
    pending.length = 0;
  };
  let damage: unknown;
  try {
    for (const ev of imp.events()) {
      if (!nextTick) nextTick = ev.tsNs + TICK_NS;
      if (ev.tsNs >= nextTick) {
        flushBatch();
        pipeline.tick(ev.tsNs);
        nextTick = ev.tsNs + TICK_NS;
        if (opts.stop?.()) break;
        opts.progress?.(imp.position, events);
      }
      pending.push(ev);
      if (pending.length >= BATCH) flushBatch();
    }
  } catch (err) {
    damage = err;
  }
  flushBatch();
  pipeline.finish();
  return { events, damage };
}
