// Flows from a mesh-trace capture or pcap/pcapng files: replayed through the correlator
// exactly as `mesh-trace replay` does (the same filters), collected, then handed out.
import type { FlowRecord } from '../correlate/model.js';
import type { FilterSpec } from '../events/filter.js';
import type { FlowFilterSpec } from '../correlate/flow-filter.js';
import { replayPcaps, replayRecording } from '../cli/commands/replay.js';
import type { InputKind } from '../capture/sniff.js';
import type { FlowSource } from './flow-source.js';

export function replayedFlows(file: string, kind: InputKind, o: { spec: FilterSpec; flows: FlowFilterSpec; flowTimeoutNs: number; count?: number }): FlowSource {
  const got: FlowRecord[] = [];
  const common = { ...o, sink: (f: FlowRecord) => void got.push(f) };
  if (kind === 'capture') replayRecording(file, common, !!(o.flows.container || o.flows.service || o.flows.netns?.length));
  else replayPcaps([file], common, { map: [] });
  let stopped = false;
  return {
    summary: () => `${got.length} flow${got.length === 1 ? '' : 's'} replayed from ${file}`,
    stop: () => {
      stopped = true;
    },
    async *[Symbol.asyncIterator]() {
      for (const f of got) {
        if (stopped) return;
        yield f;
      }
    },
  };
}
