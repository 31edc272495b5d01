/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Included by common.h only, with MT_MAP = extern except in maps.bpf.c. */

/* One ring for every program; the loader resizes it before load. */
MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Loss and skip counters, one slot per enum mt_counter, per CPU (no atomics). */
MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* skbs that matched the filter once: followed until freed, whatever NAT does to them. */
MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} tracked_skbs SEC(".maps");

/* 5-tuples of matched packets, both directions and every rewrite seen: replies, packets
 * after a REDIRECT to another port and the other side of a tunnel match too. */
MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mt_tuple);
	__type(value, __u8);
} tracked_tuples SEC(".maps");

/* Every port of a remembered tuple, one bit each: a packet none of whose ports is here
 * cannot belong to a followed flow, so it skips both hash lookups (the common case for
 * traffic the filter does not want). Bits are never cleared: a long session's prefilter
 * grows weaker, never wrong. */
MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} tracked_ports SEC(".maps");
