import { describe, expect, it } from 'vitest';
import { encodeFilter, protoNumber } from '../../src/events/filter.js';
import { FILTER_SIZE, FilterOff, RECORD_SIZE } from '../../src/events/layout.js';
import { formatAddr, parseCidr } from '../../src/events/addr.js';
import { MeshTraceError } from '../../src/errors.js';

describe('the in-kernel filter', () => {
  it('is all zero (match everything) when empty, but for the wakeup threshold', () => {
    const b = encodeFilter({}, { wakeupRecords: 8 });
    expect(b.length).toBe(FILTER_SIZE);
    expect(b.readUInt32LE(FilterOff.wakeup_bytes)).toBe(8 * RECORD_SIZE);
    expect([...b.subarray(0, FilterOff.wakeup_bytes)].every((x) => x === 0)).toBe(true);
  });

  it('encodes port, protocol, CIDR and namespaces', () => {
    const b = encodeFilter({ port: 1080, proto: 'tcp', host: '10.0.0.0/24', netns: [4026531840, 4026532177] });
    expect(b.readUInt32LE(FilterOff.port)).toBe(1080);
    expect(b.readUInt32LE(FilterOff.proto)).toBe(6);
    expect([...b.subarray(FilterOff.addr, FilterOff.addr + 4)]).toEqual([10, 0, 0, 0]);
    expect(b.readUInt32LE(FilterOff.addr_prefix)).toBe(24);
    expect(b.readUInt32LE(FilterOff.addr_v6)).toBe(0);
    expect(b.readUInt32LE(FilterOff.netns_count)).toBe(2);
    expect(b.readUInt32LE(FilterOff.netns + 4)).toBe(4026532177);
  });

  it('takes a host as a /32 and IPv6 networks', () => {
    expect(encodeFilter({ host: '192.168.50.2' }).readUInt32LE(FilterOff.addr_prefix)).toBe(32);
    const b = encodeFilter({ host: 'fd00::/64' });
    expect(b.readUInt32LE(FilterOff.addr_v6)).toBe(1);
    expect(b.readUInt32LE(FilterOff.addr_prefix)).toBe(64);
  });

  it('refuses bad input with one clear sentence', () => {
    expect(() => encodeFilter({ port: 70000 })).toThrow(/not between 1 and 65535/);
    expect(() => encodeFilter({ host: '10.0.0.300' })).toThrow(MeshTraceError);
    expect(() => encodeFilter({ host: 'eth0; rm -rf /' })).toThrow(/not an IP address or CIDR/);
    expect(() => protoNumber('quic')).toThrow(/not a protocol/);
    expect(() => encodeFilter({ netns: Array.from({ length: 65 }, (_, i) => i) })).toThrow(/At most 64/);
  });
});

describe('addresses', () => {
  it('round-trip through parse and format', () => {
    for (const a of ['10.255.0.2', 'fd00::1', '2001:db8:0:1:1:1:1:1', '::1', 'fe80::', '::']) {
      const c = parseCidr(a)!;
      expect(formatAddr(c.bytes, 0, c.v6 ? 6 : 4)).toBe(a);
    }
  });
  it('rejects what is not an address', () => {
    for (const a of ['', '1.2.3', '1.2.3.4/33', 'fd00::1::2', '1.2.3.4/', 'a.b.c.d', '1.2.3.4/8/8']) expect(parseCidr(a)).toBeUndefined();
  });
});
