// The byte layout of `struct mt_event` (bpf/events.h), the one record every side agrees
// on. test/unit/events-layout.test.ts pins each offset here to the C compiler's offsetof().

export const EVENT_VERSION = 2;
/** the record versions this build reads: version 1's offset 52 was padding (always 0),
 * which reads as caplen 0, so a version-1 recording decodes unchanged */
export const READABLE_EVENT_VERSIONS: readonly number[] = [1, 2];
export const RECORD_SIZE = 160;
/** the most packet bytes --snaplen can ask for (bpf/events.h MT_SNAPLEN_MAX) */
export const SNAPLEN_MAX = 1500;

export const EventType = { PACKET: 1 } as const;

/** offsets in struct mt_event */
export const Off = {
  type: 0,
  version: 1,
  hook: 2,
  dir: 3,
  cpu: 4,
  flags: 6,
  ts_ns: 8,
  skb: 16,
  netns: 24,
  ifindex: 28,
  len: 32,
  mark: 36,
  drop_reason: 40,
  vni: 44,
  aux: 48,
  /** packet bytes that followed this record in the ring (version 2; 0 in version 1) */
  caplen: 52,
  outer: 56,
  inner: 108,
} as const;

/** offsets in struct mt_headers (relative to outer or inner) */
export const HdrOff = {
  saddr: 0,
  daddr: 16,
  tcp_seq: 32,
  tcp_ack: 36,
  sport: 40,
  dport: 42,
  ip_id: 44,
  proto: 46,
  tcp_flags: 47,
  ip_len: 48,
  ttl: 50,
} as const;
export const HEADERS_SIZE = 52;

/** mt_event.flags */
export const Flag = {
  IPV6: 0x0001,
  L4: 0x0002,
  ENCAP: 0x0004,
  INNER_V6: 0x0008,
  INNER_L4: 0x0010,
  NO_L3: 0x0020,
} as const;

/** struct mt_filter (set in .rodata before load) */
export const FilterOff = {
  port: 0,
  proto: 4,
  addr: 8,
  addr_prefix: 24,
  addr_v6: 28,
  netns_count: 32,
  netns: 36,
  wakeup_bytes: 292,
  snaplen: 296,
} as const;
export const FILTER_SIZE = 300;
export const MAX_NETNS = 64;

/** enum mt_counter: the kernel-side counters */
export const KernelCounter = {
  EMITTED: 0,
  RING_FULL: 1,
  FILTERED: 2,
  PARSE_SHORT: 3,
} as const;
