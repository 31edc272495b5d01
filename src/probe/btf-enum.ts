// Names of a kernel enum read from the running kernel's BTF (/sys/kernel/btf/vmlinux):
// drop reasons differ between kernel versions, so their numbers are named by the kernel
// that produced them, never by a table compiled into mesh-trace.
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const KIND_ENUM = 6;
const KIND_ENUM64 = 19;

/** bytes that follow a btf_type of each kind (vlen = number of members) */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return 12 * vlen; // STRUCT, UNION
    case 6: return 8 * vlen; // ENUM
    case 13: return 8 * vlen; // FUNC_PROTO
    case 14: return 4; // VAR
    case 15: return 12 * vlen; // DATASEC
    case 17: return 4; // DECL_TAG
    case 19: return 12 * vlen; // ENUM64
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

export function readBtfEnum(btf: Uint8Array, enumName: string): Map<number, string> | undefined {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (btf.byteLength < 24 || dv.getUint16(0, true) !== BTF_MAGIC) return undefined;
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const decoder = new TextDecoder();
  const str = (off: number) => {
    let end = strOff + off;
    while (end < btf.byteLength && btf[end] !== 0) end++;
    return decoder.decode(btf.subarray(strOff + off, end));
  };
  for (let o = typeOff; o + 12 <= typeOff + typeLen; ) {
    const nameOff = dv.getUint32(o, true);
    const info = dv.getUint32(o + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const body = o + 12;
    if ((kind === KIND_ENUM || kind === KIND_ENUM64) && nameOff && str(nameOff) === enumName) {
      const out = new Map<number, string>();
      const step = kind === KIND_ENUM ? 8 : 12;
      for (let i = 0; i < vlen; i++) out.set(dv.getInt32(body + i * step + 4, true), str(dv.getUint32(body + i * step, true)));
      return out;
    }
    o = body + trailing(kind, vlen);
  }
  return undefined;
}

let dropReasons: Map<number, string> | null | undefined;

function runningKernelReasons(): Map<number, string> | null {
  if (dropReasons === undefined) {
    try {
      dropReasons = readBtfEnum(readFileSync('/sys/kernel/btf/vmlinux'), 'skb_drop_reason') ?? null;
    } catch {
      dropReasons = null;
    }
  }
  return dropReasons;
}

/** "NETFILTER_DROP" for the running kernel's enum skb_drop_reason value, or "reason 42" */
export function dropReasonName(value: number): string {
  const name = runningKernelReasons()?.get(value);
  return name ? name.replace(/^SKB_DROP_REASON_/, '') : `reason ${value}`;
}

/** the running kernel's drop reasons, code → name: a recording carries them, since the
 * numbers mean other things on other kernels */
export function dropReasonTable(): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [k, v] of runningKernelReasons() ?? []) out[k] = v.replace(/^SKB_DROP_REASON_/, '');
  return out;
}

/** names drop reasons from a table (a recording's) */
export function dropReasonsFrom(table: Record<number, string>): (value: number) => string {
  return (value) => table[value] ?? `reason ${value}`;
}
