// Protocol numbers and TCP flags as tcpdump prints them.

const PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMP6', 132: 'SCTP' };

export function protoName(p: number): string {
  return PROTO[p] ?? `proto ${p}`;
}

export function tcpFlagString(f: number): string {
  const s = (f & 0x02 ? 'S' : '') + (f & 0x01 ? 'F' : '') + (f & 0x04 ? 'R' : '') + (f & 0x08 ? 'P' : '') + (f & 0x10 ? '.' : '');
  return s || 'none';
}
