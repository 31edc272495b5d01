// Events per second delivered to TypeScript at zero loss, against a plain C libbpf consumer
// of the same ring filled by the same in-kernel producer with the same pacing. Side by
// side in one run (alternating, best of N each), reported as a ratio.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../dist/probe/native.js';
import { EventBatch } from '../dist/events/decode.js';
import { RECORD_SIZE } from '../dist/events/layout.js';
import { encodeFilter } from '../dist/events/filter.js';
import { wakeupRecords } from '../dist/probe/session.js';
import { root, buildCConsumer } from './util.js';

const RING = 16 << 20;

async function jsRun(total) {
  const addon = loadAddon();
  const s = new addon.Session({ programs: ['mt_bench_produce'], rodata: encodeFilter({}, { wakeupRecords: wakeupRecords(RING) }), ringBytes: RING, batchRecords: Number(process.env.BATCH ?? 1024) });
  let seen = 0;
  let checksum = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const t0 = process.hrtime.bigint();
  s.start((buf, n) => {
    // what a consumer does at least: decode the hook and length of every record in place
    const b = new EventBatch(buf, n);
    for (let i = 0; i < b.length; i++) checksum += b.hook(i) + b.len(i);
    seen += b.length;
    if (seen >= total) done();
  }, () => {});
  const prod = await s.benchProduce(total, 8192, RING / RECORD_SIZE / 2);
  if (prod.dropped === 0) await finished;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = s.counters();
  s.close();
  return { records: seen, dropped: prod.dropped + c.queueFull + c.ringFull, seconds: secs, perSecond: seen / secs, checksum };
}

function cRun(bin, total) {
  return JSON.parse(execFileSync(bin, [String(total), String(RING)], { encoding: 'utf8' }));
}

export async function benchTransport({ total = 5_000_000, rounds = 3 } = {}) {
  const bin = buildCConsumer();
  const js = [], c = [];
  for (let i = 0; i < rounds; i++) {
    c.push(cRun(bin, total));
    js.push(await jsRun(total));
  }
  const best = (xs) => xs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const bj = best(js), bc = best(c);
  return {
    name: 'transport',
    records: total,
    typescript: { perSecond: Math.round(bj.perSecond), lost: bj.dropped },
    c: { perSecond: Math.round(bc.perSecond), lost: bc.dropped },
    ratio: +(bj.perSecond / bc.perSecond).toFixed(2),
    goal: 'TypeScript >= 5 M/s and >= 0.5x the C consumer, zero loss',
    met: bj.perSecond >= 5e6 && bj.perSecond / bc.perSecond >= 0.5 && bj.dropped === 0,
  };
}
