import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readBtfEnum } from '../../src/probe/btf-enum.js';

/** a minimal BTF blob: an INT, then enum `color` { RED = 1, BLUE = -2 } */
function tinyBtf(): Uint8Array {
  const strings = '\0int\0color\0RED\0BLUE\0';
  const types: number[] = [
    1, (1 << 24) | 0, 4, 32, // [1] INT "int" size 4, bits 32
    5, (6 << 24) | 2, 4, 11, 1, 15, -2 >>> 0, // [2] ENUM "color" vlen 2: RED=1, BLUE=-2
  ];
  const t = new Uint8Array(types.length * 4);
  const dv = new DataView(t.buffer);
  types.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  const s = new TextEncoder().encode(strings);
  const out = new Uint8Array(24 + t.length + s.length);
  const h = new DataView(out.buffer);
  h.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  h.setUint32(4, 24, true);
  h.setUint32(8, 0, true);
  h.setUint32(12, t.length, true);
  h.setUint32(16, t.length, true);
  h.setUint32(20, s.length, true);
  out.set(t, 24);
  out.set(s, 24 + t.length);
  return out;
}

describe('reading an enum from BTF', () => {
  it('finds the enum by name and reads signed values', () => {
    expect(readBtfEnum(tinyBtf(), 'color')).toEqual(new Map([[1, 'RED'], [-2, 'BLUE']]));
    expect(readBtfEnum(tinyBtf(), 'shape')).toBeUndefined();
  });
  it('refuses what is not BTF', () => {
    expect(readBtfEnum(new Uint8Array(64), 'color')).toBeUndefined();
    expect(readBtfEnum(new Uint8Array(3), 'color')).toBeUndefined();
  });
  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('names the running kernel\'s drop reasons', () => {
    const reasons = readBtfEnum(readFileSync('/sys/kernel/btf/vmlinux'), 'skb_drop_reason')!;
    expect([...reasons.values()]).toContain('SKB_DROP_REASON_NETFILTER_DROP');
    expect(reasons.get(2)).toBe('SKB_DROP_REASON_NOT_SPECIFIED');
  });
});
