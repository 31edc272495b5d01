// A capture of many lab requests, made from one the lab really recorded
// (test/fixtures/lab-request.mtrace: `curl` through the routing mesh to port 1080, 12
// packets, 677 events over two nodes, VXLAN, the load balancer's marks and NATs). Each
// copy is the same request from another client port, on skbs of its own, started a fixed
// interval after the one before. The copies interleave as a busy host's ring would hold
// them: a CPU carries a packet through one namespace at a time (leaving it is a veth or
// tunnel crossing, a queue), so each stretch of a packet's records in one namespace stays
// together, and the stretches of all copies follow each other in the order they began —
// about 7 records a stretch, where an idle host's recording has a packet's 45 in a row.
// Everything else is the recording's: its topology (every hop named as the lab names it),
// clock, hooks, devices, headers, the late frees. What a replay of the lab's own traffic
// costs, at the rate of a busy host (the synthetic connections in correlate.js, whose
// events come a flow at a time, are the other case).
import { join } from 'node:path';
import { CaptureWriter } from '../dist/capture/writer.js';
import { CaptureReader } from '../dist/capture/reader.js';
import { EventBatch } from '../dist/events/decode.js';
import { HdrOff, Off, RECORD_SIZE } from '../dist/events/layout.js';
import { root } from './util.js';

export const LAB_RECORDING = join(root, 'test', 'fixtures', 'lab-request.mtrace');
/** copies of the recorded request: as many events as the synthetic workloads */
export const LAB_COPIES = 3664;

/** the recording's header, topology snapshots, and records (bytes, in time order) */
function readRecording(file) {
  const r = new CaptureReader(file);
  try {
    const topology = [];
    const chunks = [];
    for (const it of r.items()) {
      if (it.kind === 'topology') topology.push(it.snapshot);
      if (it.kind !== 'batch') continue;
      const b = it.events;
      const bytes = new Uint8Array(b.length * RECORD_SIZE);
      b.copyRecords(0, b.length, bytes, 0);
      chunks.push(bytes);
    }
    const records = Buffer.concat(chunks);
    return { header: r.header, topology, records, count: records.length / RECORD_SIZE };
  } finally {
    r.close();
  }
}

/** the client port of the recorded request: the source port of its first packet */
function clientPort(dv) {
  return dv.getUint16(Off.outer + HdrOff.sport, true);
}

/**
 * Writes `copies` copies of the recorded request to `file`, one every `everyNs` of event
 * time, through the real CaptureWriter (1,024-record batches, a tick every 100 ms of event
 * time). Returns the number of records written.
 */
export function writeLabFlows(file, copies, everyNs = 100_000, recording = LAB_RECORDING) {
  const rec = readRecording(recording);
  const src = rec.records;
  const sdv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const n = rec.count;
  const port = clientPort(sdv);
  const ts = new Float64Array(n);
  let highWord = -1;
  for (let k = 0; k < n; k++) {
    const o = k * RECORD_SIZE;
    ts[k] = sdv.getUint32(o + Off.ts_ns, true) + sdv.getUint32(o + Off.ts_ns + 4, true) * 2 ** 32;
    const hw = sdv.getUint32(o + Off.skb + 4, true);
    // a copy's skbs differ from the recording's in their high word (below): every recorded
    // skb must share one, or two copies could meet on an address
    if (hw !== 0 && highWord >= 0 && hw !== highWord) throw new Error(`${recording}: skbs in more than one 4 GB region`);
    if (hw !== 0) highWord = hw;
  }
  // the stretches: where the skb or the namespace changes, a packet left a queue or went
  // into one; stretch q is records from[q] to from[q + 1]
  const from = [0];
  for (let k = 1; k < n; k++) {
    const o = k * RECORD_SIZE;
    const p = o - RECORD_SIZE;
    const same = sdv.getUint32(o + Off.skb, true) === sdv.getUint32(p + Off.skb, true) && sdv.getUint32(o + Off.netns, true) === sdv.getUint32(p + Off.netns, true);
    if (!same) from.push(k);
  }
  const stretches = from.length;
  from.push(n);
  // copy c's record k is at ts[k] + c * everyNs; stretch x (copy x / stretches, stretch x
  // % stretches) goes out when it begins, ties by copy and stretch
  const at = (k, c) => ts[k] + c * everyNs;
  const units = stretches * copies;
  const order = new Uint32Array(units);
  for (let x = 0; x < units; x++) order[x] = x;
  const begins = (x) => at(from[x % stretches], Math.floor(x / stretches));
  order.sort((a, b) => begins(a) - begins(b) || a - b);
  const total = n * copies;

  const w = CaptureWriter.create(file, { ...rec.header, argv: ['bench'] });
  for (const snap of rec.topology) w.topology(snap, 0);
  const out = Buffer.alloc(1024 * RECORD_SIZE);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let fill = 0;
  const flush = () => {
    if (!fill) return;
    w.batch('local', new EventBatch(out.subarray(0, fill * RECORD_SIZE), fill).raw(), fill);
    fill = 0;
  };
  // ticks as a recorder writes them, every 100 ms of the clock with the batches read by
  // then before them: the quiet spells between events have theirs too, and a flow closed
  // in one is reported before a late free of its packets comes
  let nextTick = begins(order[0]) + 100e6;
  for (let u = 0; u < units; u++) {
    const c = Math.floor(order[u] / stretches);
    const q = order[u] % stretches;
    // the port of this copy's client, wherever it appears (before and after the NATs,
    // inside the tunnel)
    const p = 1024 + (c % 60000);
    for (let k = from[q]; k < from[q + 1]; k++) {
      const t = at(k, c);
      for (; nextTick <= t; nextTick += 100e6) {
        flush();
        w.tick('local', nextTick);
      }
      const o = fill * RECORD_SIZE;
      out.set(src.subarray(k * RECORD_SIZE, (k + 1) * RECORD_SIZE), o);
      dv.setUint32(o + Off.ts_ns, t % 2 ** 32, true);
      dv.setUint32(o + Off.ts_ns + 4, Math.floor(t / 2 ** 32), true);
      const hw = dv.getUint32(o + Off.skb + 4, true);
      if (hw !== 0) dv.setUint32(o + Off.skb + 4, hw + c, true);
      for (const h of [Off.outer, Off.inner]) {
        if (dv.getUint16(o + h + HdrOff.sport, true) === port) dv.setUint16(o + h + HdrOff.sport, p, true);
        if (dv.getUint16(o + h + HdrOff.dport, true) === port) dv.setUint16(o + h + HdrOff.dport, p, true);
      }
      if (++fill === 1024) flush();
    }
  }
  flush();
  w.tick('local', nextTick);
  w.end(0, 'duration');
  w.close();
  return total;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, copies] = process.argv.slice(2);
  console.log(writeLabFlows(file, Number(copies ?? LAB_COPIES)));
}
