// Correlation throughput: the same batches of records (a routing-mesh-like connection per
// flow: SYN, SYN-ACK, FIN each way, ~30 hop events each, a DNAT and a SNAT on the way) decoded only, and decoded
// and correlated into flows, side by side in one run. No kernel needed.
import { EventBatch } from '../dist/events/decode.js';
import { Off, HdrOff, RECORD_SIZE, Flag, EVENT_VERSION } from '../dist/events/layout.js';
import { Correlator } from '../dist/correlate/index.js';

export const PLACES = 10;

function writeHeaders(dv, o, h) {
  for (let i = 0; i < 4; i++) dv.setUint8(o + HdrOff.saddr + i, h.s[i]);
  for (let i = 0; i < 4; i++) dv.setUint8(o + HdrOff.daddr + i, h.d[i]);
  dv.setUint32(o + HdrOff.tcp_seq, h.seq, true);
  dv.setUint16(o + HdrOff.sport, h.sp, true);
  dv.setUint16(o + HdrOff.dport, h.dp, true);
  dv.setUint16(o + HdrOff.ip_id, h.id, true);
  dv.setUint8(o + HdrOff.proto, 6);
  dv.setUint8(o + HdrOff.tcp_flags, h.flags);
  dv.setUint16(o + HdrOff.ip_len, 60, true);
}

function writeRecord(buf, dv, o, { hook, flags, t, skb }) {
  buf[o + Off.type] = 1;
  buf[o + Off.version] = EVENT_VERSION;
  buf[o + Off.hook] = hook;
  dv.setUint16(o + Off.flags, flags, true);
  dv.setUint32(o + Off.ts_ns, t % 4294967296, true);
  dv.setUint32(o + Off.ts_ns + 4, Math.floor(t / 4294967296), true);
  dv.setUint32(o + Off.skb, skb, true);
  dv.setUint32(o + Off.skb + 4, 0xffff8880, true);
}

/** n flows' records, in time order: `packets` packets each (SYN, SYN-ACK, data and ACKs
 * either way, a FIN each way last) */
export function makeRecords(flows, packets = 4) {
  const perJourney = PLACES * 3 + 1;
  const buf = Buffer.alloc(flows * packets * perJourney * RECORD_SIZE);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  let t = 1e9;
  let skb = 0x10000;
  for (let f = 0; f < flows; f++) {
    const sp = 1024 + (f % 60000);
    const c = [10, 1, (f >> 8) & 255, f & 255];
    for (let p = 0; p < packets; p++) {
      const reply = p % 2 === 1;
      const fin = p >= packets - 2 ? 0x11 : 0x18;
      skb += 1;
      let h = reply
        ? { s: [10, 9, 0, 5], d: [10, 9, 0, 2], sp: 80, dp: sp, seq: 5000 + p, id: p, flags: p === 1 ? 0x12 : fin }
        : { s: c, d: [192, 168, 60, 1], sp, dp: 1080, seq: 1000 + p, id: p, flags: p === 0 ? 0x02 : fin };
      for (let pl = 0; pl < PLACES; pl++) {
        const hooks = pl % 3 === 1 ? [7, 7, 1] : [1, 4, 2];
        for (let k = 0; k < hooks.length; k++) {
          const o = i * RECORD_SIZE;
          if (hooks[k] === 7 && k === 1 && pl === 1) h = reply ? { ...h, d: c, dp: sp } : { ...h, d: [10, 9, 0, 5], dp: 80 };
          if (hooks[k] === 7 && k === 1 && pl === 4) h = reply ? { ...h, s: [192, 168, 60, 1], sp: 1080 } : { ...h, s: [10, 9, 0, 2] };
          writeRecord(buf, dv, o, { hook: hooks[k], flags: Flag.L4, t: (t += 700), skb });
          buf[o + Off.dir] = 1;
          dv.setUint32(o + Off.netns, 4026531000 + pl, true);
          dv.setUint32(o + Off.ifindex, 2 + (pl % 3), true);
          dv.setUint32(o + Off.aux, hooks[k] === 7 ? (k << 16) | (2 << 8) : 0, true);
          writeHeaders(dv, o + Off.outer, h);
          i++;
        }
      }
      writeRecord(buf, dv, i * RECORD_SIZE, { hook: 6, flags: Flag.NO_L3, t: (t += 700), skb });
      i++;
    }
  }
  return { buf, count: i, end: t };
}

function batches(buf, count) {
  const out = [];
  for (let s = 0; s < count; s += 1024) out.push(new EventBatch(buf.subarray(s * RECORD_SIZE, Math.min(count, s + 1024) * RECORD_SIZE)));
  return out;
}

export async function benchCorrelate(flows = 20000) {
  const { buf, count, end } = makeRecords(flows);
  const namer = { device: () => undefined, netns: () => undefined, dropReason: (n) => String(n) };
  const runDecode = () => {
    let n = 0;
    for (const b of batches(buf, count)) for (const e of b.events()) n += e.len;
    return n;
  };
  let reported = 0;
  const runCorrelate = () => {
    const c = new Correlator({ namer, wallClock: (_c, ns) => ns });
    let k = 0;
    reported = 0;
    for (const b of batches(buf, count)) {
      c.pushBatch(b);
      if (++k % 100 === 0) reported += c.advance(Number(b.tsNs(b.length - 1))).length;
    }
    reported += c.flush().length;
  };
  const time = (fn) => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  runDecode();
  runCorrelate();
  let dec = Infinity;
  let cor = Infinity;
  for (let r = 0; r < 3; r++) {
    dec = Math.min(dec, time(runDecode));
    cor = Math.min(cor, time(runCorrelate));
  }
  void end;
  return {
    name: 'correlate',
    events: count,
    flows: reported,
    decodeOnlyPerSec: Math.round(count / dec),
    correlatePerSec: Math.round(count / cor),
    ratio: +(dec / cor).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchCorrelate()));
