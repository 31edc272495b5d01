// The capture filters applied to flow records read from a file: what the kernel filter
// does live (--port, --proto) and what --netns does, decided on the records themselves
// (their tuples and hops), since a file has no kernel and maybe no topology beside it.
import type { FlowRecord } from '../correlate/model.js';
import { MeshTraceError } from '../errors.js';

export interface RecordFilterSpec {
  port?: string;
  proto?: string;
  netns?: string[];
}

const PROTO_NUMBERS: Record<string, string> = { '6': 'TCP', '17': 'UDP', '1': 'ICMP', '58': 'ICMP6', '132': 'SCTP' };

export function recordFilter(spec: RecordFilterSpec): ((f: FlowRecord) => boolean) | undefined {
  const port = spec.port;
  if (port !== undefined && !/^\d+$/.test(port)) throw new MeshTraceError('USAGE', `--port must be a port number, not "${port}".`);
  const proto = spec.proto === undefined ? undefined : (PROTO_NUMBERS[spec.proto] ?? spec.proto.toUpperCase());
  const netns = spec.netns?.length ? new Set(spec.netns) : undefined;
  if (port === undefined && proto === undefined && !netns) return undefined;
  const portOf = (endpoint: string) => endpoint.slice(endpoint.lastIndexOf(':') + 1);
  return (f) => {
    if (proto !== undefined && f.proto !== proto) return false;
    if (port !== undefined) {
      // every tuple the flow had, across its rewrites ("TCP a:p > b:q"), and its two ends
      const ends = [f.client, f.server, ...f.tuples.flatMap((t) => t.split(' ').filter((_, i) => i === 1 || i === 3))];
      if (!ends.some((e) => portOf(e) === port)) return false;
    }
    if (netns) {
      const hops = [...(f.forward?.hops ?? []), ...(f.reply?.hops ?? [])];
      if (!hops.some((h) => netns.has(h.netns) || netns.has(`${h.node}/${h.netns}`) || netns.has(String(h.netns_inode)))) return false;
    }
    return true;
  };
}
