// The in-kernel filter as the bytes of `struct mt_filter`, written into .rodata before
// the programs load. Zero fields mean "any".
import { FILTER_SIZE, FilterOff, MAX_NETNS, RECORD_SIZE, SNAPLEN_MAX } from './layout.js';
import { parseCidr } from './addr.js';
import { MeshTraceError } from '../errors.js';

export interface FilterSpec {
  /** matches source or destination port, outer or inner (VXLAN) headers */
  port?: number;
  /** 'tcp' | 'udp' | 'icmp' | number */
  proto?: string | number;
  /** a host address or CIDR, source or destination, outer or inner */
  host?: string;
  /** namespace inodes to watch; empty = all */
  netns?: number[];
}

const protoNumbers: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };

export function protoNumber(p: string | number): number {
  if (typeof p === 'number') return p;
  const n = protoNumbers[p.toLowerCase()] ?? (/^\d+$/.test(p) ? Number(p) : NaN);
  if (!Number.isInteger(n) || n < 0 || n > 255) {
    throw new MeshTraceError('USAGE', `"${p}" is not a protocol.`, { hint: 'Use tcp, udp, icmp or a protocol number.' });
  }
  return n;
}

/** --snaplen's value, checked: undefined (not given) is 0, headers only */
export function parseSnaplen(v: string | number | undefined): number {
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > SNAPLEN_MAX) {
    throw new MeshTraceError('USAGE', `--snaplen must be a whole number of bytes from 0 to ${SNAPLEN_MAX}, not "${v}".`, {
      hint: 'e.g. --snaplen 128 keeps the first 128 bytes of each packet from its IP header on; 0 (the default) keeps headers only.',
    });
  }
  return n;
}

export function encodeFilter(spec: FilterSpec, opts: { wakeupRecords?: number; snaplen?: number } = {}): Buffer {
  const buf = Buffer.alloc(FILTER_SIZE);
  if (spec.port !== undefined) {
    if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
      throw new MeshTraceError('USAGE', `Port ${Number.isNaN(spec.port) ? 'must be a number' : `${spec.port} is not between 1 and 65535`}.`, {
        hint: 'Use e.g. --port 1080.',
      });
    }
    buf.writeUInt32LE(spec.port, FilterOff.port);
  }
  if (spec.proto !== undefined) buf.writeUInt32LE(protoNumber(spec.proto), FilterOff.proto);
  if (spec.host !== undefined) {
    const c = parseCidr(spec.host);
    if (!c) {
      throw new MeshTraceError('USAGE', `"${spec.host}" is not an IP address or CIDR.`, {
        hint: 'Use e.g. 10.0.0.5, 10.0.0.0/24 or fd00::/64.',
      });
    }
    buf.set(c.bytes, FilterOff.addr);
    buf.writeUInt32LE(c.prefix, FilterOff.addr_prefix);
    buf.writeUInt32LE(c.v6 ? 1 : 0, FilterOff.addr_v6);
  }
  const netns = spec.netns ?? [];
  if (netns.length > MAX_NETNS) {
    throw new MeshTraceError('USAGE', `At most ${MAX_NETNS} namespaces can be selected, not ${netns.length}.`);
  }
  buf.writeUInt32LE(netns.length, FilterOff.netns_count);
  netns.forEach((ino, i) => buf.writeUInt32LE(ino >>> 0, FilterOff.netns + 4 * i));
  buf.writeUInt32LE((opts.wakeupRecords ?? 256) * RECORD_SIZE, FilterOff.wakeup_bytes);
  buf.writeUInt32LE(parseSnaplen(opts.snaplen), FilterOff.snaplen);
  return buf;
}

/** true when the filter passes every IP packet */
export function filterIsEmpty(spec: FilterSpec): boolean {
  return spec.port === undefined && spec.proto === undefined && spec.host === undefined;
}
