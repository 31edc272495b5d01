// A recording back through the flow pipeline: the same calls, in the same order, as the
// live run that wrote it (topology, batch, tick), then finish(). Stops early when asked
// (--count reached); damage past the frames already read is returned, not thrown, so the
// flows before it still come out.
import type { EventBatch } from '../events/decode.js';
import type { FlowPipeline } from '../correlate/pipeline.js';
import type { CountersMsg, EndMsg } from './schema.js';
import type { CaptureReader } from './reader.js';

export interface ReplayResult {
  events: number;
  /** the last loss counters the recording carries */
  counters?: CountersMsg;
  end?: EndMsg;
  /** why reading stopped before the end of the file */
  damage?: unknown;
}

export function replayCapture(
  reader: CaptureReader,
  pipeline: FlowPipeline,
  opts: { stop?: () => boolean; progress?: (position: number, events: number) => void; onBatch?: (b: EventBatch) => void } = {},
): ReplayResult {
  const out: ReplayResult = { events: 0 };
  let n = 0;
  try {
    for (const it of reader.items()) {
      switch (it.kind) {
        case 'topology':
          pipeline.topology(it.snapshot);
          break;
        case 'batch': {
          const b = it.events;
          out.events += b.length;
          opts.onBatch?.(b);
          pipeline.batch(b, it.batch.clock || 'local');
          break;
        }
        case 'tick':
          pipeline.tick(it.tick.nowNs);
          break;
        case 'counters':
          out.counters = it.counters;
          break;
        case 'end':
          out.end = it.end;
          if (it.end.counters) out.counters = it.end.counters;
          break;
      }
      if (opts.stop?.()) break;
      if ((++n & 63) === 0) opts.progress?.(reader.position, out.events);
    }
  } catch (err) {
    out.damage = err;
  }
  pipeline.finish();
  return out;
}
