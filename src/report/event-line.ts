// One hop event as a line a tcpdump user reads at a glance, or as one NDJSON record.
// Pure formatting: names come from a resolver, drop reasons from a namer.
import type { PacketEvent, PacketHeaders } from '../events/decode.js';
import { decodeNfAux, nfHookName } from '../events/hooks.js';
import type { Style } from '../cli/style.js';
import { protoName, tcpFlagString } from '../events/proto.js';
import { endpointText } from '../events/addr.js';


export function headersText(h: PacketHeaders): string {
  const proto = protoName(h.proto);
  let s = `${proto} ${endpointText(h.saddr, h.family, h.sport, h.l4)} > ${endpointText(h.daddr, h.family, h.dport, h.l4)}`;
  if (h.proto === 6 && h.l4) s += ` [${tcpFlagString(h.tcpFlags)}] seq ${h.tcpSeq}`;
  return s;
}

export function hookText(e: PacketEvent, dropName: (n: number) => string): string {
  if (e.hookName === 'netfilter') {
    const nf = decodeNfAux(e.aux);
    return `nf ${nfHookName[nf.hooknum] ?? nf.hooknum} ${nf.stage}`;
  }
  if (e.hookName === 'drop') return `drop (${dropName(e.dropReason)})`;
  return e.hookName;
}

/** monotonic ns (bpf_ktime_get_ns, the clock Node's hrtime reads too) -> wall-clock ns,
 * from one pairing of the two clocks taken at start */
export function wallClock(): (monoNs: number) => number {
  const monoNow = Number(process.hrtime.bigint());
  const wallNow = Date.now() * 1e6;
  return (monoNs) => wallNow + (monoNs - monoNow);
}

/** local time with microseconds, as tcpdump prints it */
export function timeText(wallNs: number): string {
  const d = new Date(wallNs / 1e6);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(Math.floor(wallNs / 1000) % 1_000_000, 6)}`;
}

export interface LineContext {
  where: (e: PacketEvent) => string;
  dropName: (n: number) => string;
  clock: (monoNs: number) => number;
  style: Style;
}

export function eventLine(e: PacketEvent, ctx: LineContext): string {
  const s = ctx.style;
  const parts = [s.dim(timeText(ctx.clock(e.tsNs))), s.cyan(ctx.where(e)), e.hookName === 'drop' ? s.red(hookText(e, ctx.dropName)) : s.bold(hookText(e, ctx.dropName))];
  if (e.outer) {
    if (e.vni !== undefined && e.inner) parts.push(`VXLAN vni ${e.vni} ${headersText(e.outer)} | ${headersText(e.inner)}`);
    else parts.push(headersText(e.outer));
  }
  if (e.mark) parts.push(`mark 0x${e.mark.toString(16)}`);
  parts.push(`len ${e.len}`);
  return parts.join('  ');
}

export function eventJson(e: PacketEvent, ctx: Omit<LineContext, 'style'>): string {
  const rec: Record<string, unknown> = {
    time: new Date(ctx.clock(e.tsNs) / 1e6).toISOString(),
    ts_ns: e.tsNs,
    where: ctx.where(e),
    hook: e.hookName,
    dir: e.dir,
    netns: e.netns,
    ifindex: e.ifindex,
    skb: e.skb,
    cpu: e.cpu,
    len: e.len,
    mark: e.mark,
  };
  if (e.hookName === 'netfilter') rec.netfilter = { ...decodeNfAux(e.aux), hook: nfHookName[decodeNfAux(e.aux).hooknum] };
  if (e.hookName === 'drop') rec.drop_reason = ctx.dropName(e.dropReason);
  if (e.outer) rec.outer = e.outer;
  if (e.vni !== undefined) rec.vni = e.vni;
  if (e.inner) rec.inner = e.inner;
  return JSON.stringify(rec);
}
