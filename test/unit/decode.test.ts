import { describe, expect, it } from 'vitest';
import { EventBatch, decodeBatch } from '../../src/events/decode.js';
import { Flag, HdrOff, Off, RECORD_SIZE } from '../../src/events/layout.js';
import { Hook } from '../../src/events/hooks.js';

/** one record as the kernel writes it (little-endian host, network-order addresses) */
function record(fill: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(RECORD_SIZE);
  const dv = new DataView(b.buffer);
  b[Off.type] = 1;
  b[Off.version] = 1;
  fill(dv, b);
  return b;
}

function concat(...rs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(rs.length * RECORD_SIZE);
  rs.forEach((r, i) => out.set(r, i * RECORD_SIZE));
  return out;
}

describe('decoding a batch of records', () => {
  const vxlan = record((dv, b) => {
    b[Off.hook] = Hook.TC_EGRESS;
    b[Off.dir] = 2;
    dv.setUint16(Off.cpu, 1, true);
    dv.setUint16(Off.flags, Flag.L4 | Flag.ENCAP | Flag.INNER_L4, true);
    dv.setUint32(Off.ts_ns, 0x89abcdef, true);
    dv.setUint32(Off.ts_ns + 4, 0x12, true);
    dv.setUint32(Off.skb, 0xdefa4e0, true);
    dv.setUint32(Off.skb + 4, 0xffff8881, true);
    dv.setUint32(Off.netns, 4026532177, true);
    dv.setUint32(Off.ifindex, 7, true);
    dv.setUint32(Off.len, 124, true);
    dv.setUint32(Off.mark, 0x100, true);
    dv.setUint32(Off.vni, 4096, true);
    b.set([192, 168, 50, 1], Off.outer + HdrOff.saddr);
    b.set([192, 168, 50, 2], Off.outer + HdrOff.daddr);
    b[Off.outer + HdrOff.proto] = 17;
    dv.setUint16(Off.outer + HdrOff.sport, 40000, true);
    dv.setUint16(Off.outer + HdrOff.dport, 4789, true);
    b.set([10, 255, 0, 2], Off.inner + HdrOff.saddr);
    b.set([10, 255, 0, 5], Off.inner + HdrOff.daddr);
    b[Off.inner + HdrOff.proto] = 6;
    b[Off.inner + HdrOff.tcp_flags] = 0x02;
    dv.setUint16(Off.inner + HdrOff.dport, 1080, true);
    dv.setUint32(Off.inner + HdrOff.tcp_seq, 0xdeadbeef, true);
    dv.setUint16(Off.inner + HdrOff.ip_id, 4242, true);
  });
  const v6 = record((dv, b) => {
    b[Off.hook] = Hook.DROP;
    dv.setUint16(Off.flags, Flag.IPV6 | Flag.L4, true);
    dv.setUint32(Off.drop_reason, 6, true);
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], Off.outer + HdrOff.saddr);
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], Off.outer + HdrOff.daddr);
    b[Off.outer + HdrOff.proto] = 6;
  });
  const arp = record((dv, b) => {
    b[Off.hook] = Hook.DEV_RECV;
    dv.setUint16(Off.flags, Flag.NO_L3, true);
  });

  it('reads every field of an encapsulated packet', () => {
    const [e] = decodeBatch(concat(vxlan));
    expect(e).toMatchObject({
      hook: Hook.TC_EGRESS,
      hookName: 'tc-egress',
      dir: 'egress',
      cpu: 1,
      tsNs: 0x12 * 2 ** 32 + 0x89abcdef,
      skb: 'ffff88810defa4e0',
      netns: 4026532177,
      ifindex: 7,
      len: 124,
      mark: 0x100,
      vni: 4096,
      outer: { family: 4, saddr: '192.168.50.1', daddr: '192.168.50.2', proto: 17, sport: 40000, dport: 4789, l4: true },
      inner: { saddr: '10.255.0.2', daddr: '10.255.0.5', proto: 6, dport: 1080, tcpFlags: 2, tcpSeq: 0xdeadbeef, ipId: 4242 },
    });
  });

  it('prints IPv6 addresses compressed, and carries the drop reason', () => {
    const [e] = decodeBatch(concat(v6));
    expect(e.outer).toMatchObject({ family: 6, saddr: 'fd00::1', daddr: 'fd00::2' });
    expect(e.dropReason).toBe(6);
    expect(e.inner).toBeUndefined();
  });

  it('leaves the headers out of non-IP frames', () => {
    expect(decodeBatch(concat(arp))[0].outer).toBeUndefined();
  });

  it('reads hot fields in place, by index', () => {
    const b = new EventBatch(concat(vxlan, v6, arp));
    expect(b.length).toBe(3);
    expect(b.hook(1)).toBe(Hook.DROP);
    expect(b.dport(0, true)).toBe(1080);
    expect(b.skb(0)).toBe('ffff88810defa4e0');
    expect(b.record(2).length).toBe(RECORD_SIZE);
  });

  it('tells whether a record has a tuple key without building it: every field of the key counts', () => {
    const ipv4 = record((dv, b) => {
      dv.setUint16(Off.flags, Flag.L4, true);
      b.set([10, 0, 0, 1], Off.outer + HdrOff.saddr);
      b.set([10, 0, 0, 2], Off.outer + HdrOff.daddr);
      b[Off.outer + HdrOff.proto] = 6;
      dv.setUint16(Off.outer + HdrOff.sport, 40000, true);
      dv.setUint16(Off.outer + HdrOff.dport, 80, true);
    });
    const variants = [ipv4, vxlan, v6, arp];
    // each one field away from ipv4: an address word, a port, the protocol, ports not read
    const at = (off: number, v: number) => record((dv, b) => (b.set(ipv4), (b[off] = v)));
    variants.push(at(Off.outer + HdrOff.saddr + 3, 9), at(Off.outer + HdrOff.daddr, 11), at(Off.outer + HdrOff.sport, 1), at(Off.outer + HdrOff.dport + 1, 1), at(Off.outer + HdrOff.proto, 17));
    variants.push(record((dv, b) => (b.set(ipv4), dv.setUint16(Off.flags, 0, true))));
    const b = new EventBatch(concat(...variants));
    for (let i = 0; i < b.length; i++) {
      for (let k = 0; k < b.length; k++) expect(b.hasTupleKey(i, b.tupleKey(k)), `record ${i}, key of ${k}`).toBe(b.tupleKey(i) === b.tupleKey(k));
    }
    expect(new Set(variants.map((_, i) => b.tupleKey(i))).size).toBe(variants.length);
  });

  it('skips and counts records of an unknown version instead of misreading them', () => {
    const future = record((_dv, b) => {
      b[Off.version] = 99;
    });
    const b = new EventBatch(concat(vxlan, future));
    expect(b.unknown).toBe(1);
    expect([...b.events()]).toHaveLength(1);
  });

  it('ignores a trailing partial record', () => {
    const buf = concat(vxlan, v6).subarray(0, RECORD_SIZE + 10);
    expect(decodeBatch(buf)).toHaveLength(1);
  });

  it('reads version-2 records and their --snaplen bytes by index (caplen prefix sums)', () => {
    const withBytes = (n: number) =>
      record((dv, b) => {
        b[Off.version] = 2;
        dv.setUint32(Off.caplen, n, true);
      });
    const payload = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // record 0 owns 4 bytes, record 1 (version 1: offset 52 was padding) none, record 2 five
    const b = new EventBatch(concat(withBytes(4), vxlan, withBytes(5)), undefined, payload);
    expect(b.unknown).toBe(0);
    expect([b.caplen(0), b.caplen(1), b.caplen(2)]).toEqual([4, 0, 5]);
    expect([...b.payload(0)]).toEqual([1, 2, 3, 4]);
    expect(b.payload(1).byteLength).toBe(0);
    expect([...b.payload(2)]).toEqual([5, 6, 7, 8, 9]);
    expect(b.payloadLength()).toBe(9);
    expect(b.rawPayload()).toBe(payload);
    // a batch without a payload buffer (headers only) answers empty views
    expect(new EventBatch(concat(vxlan)).payload(0).byteLength).toBe(0);
  });
});

describe('decoding the records of one packet', () => {
  const tcp = (daddrLast: number) =>
    record((dv, b) => {
      b[Off.hook] = Hook.TC_INGRESS;
      dv.setUint16(Off.flags, Flag.L4, true);
      b.set([10, 0, 0, 1], Off.outer + HdrOff.saddr);
      b.set([10, 0, 0, daddrLast], Off.outer + HdrOff.daddr);
      b[Off.outer + HdrOff.proto] = 6;
      dv.setUint16(Off.outer + HdrOff.dport, 80, true);
    });

  it('shares decoded headers only where the bytes are the same', () => {
    const b = new EventBatch(concat(tcp(2), tcp(2), tcp(3)));
    const first = b.event(0);
    const same = b.event(1, first, b, 0);
    const rewritten = b.event(2, same, b, 1);
    expect(same.outer).toBe(first.outer);
    expect(rewritten.outer).not.toBe(same.outer);
    expect(rewritten.outer?.daddr).toBe('10.0.0.3');
    expect(b.event(2)).toEqual(rewritten);
  });
});
