/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * --snaplen: the first bytes of an emitted packet, from its IP header on, written to the
 * ring right after its record (the record's caplen says how many). Only reached when
 * mt_cfg.snaplen is not 0; that value sits in .rodata, so with the default (0) the
 * verifier sees the branch into here as dead and the headers-only path costs nothing more.
 *
 * The record and its bytes are assembled in a per-CPU scratch buffer and written with
 * bpf_ringbuf_output, whose size may vary (bounded): a reservation would need a constant
 * size and would waste snaplen bytes of ring on every short packet.
 *
 * Where the bytes come from:
 *  - tc programs (both readers): bpf_skb_load_bytes on the program's context, which also
 *    reads the paged part of the skb (TCP keeps a sent segment's payload in page frags,
 *    so the linear area alone would hold only its headers).
 *  - every other hook: the linear area only (skb->head .. skb->tail), since the pages of
 *    frags cannot be reached without their kernel addresses. With MT_READER_BTF (locked
 *    down: no bpf_probe_read_kernel) through bpf_rdonly_cast, 16 bytes (a struct
 *    in6_addr's worth) per load of a bounded loop; with MT_READER_PROBE one
 *    bpf_probe_read_kernel.
 * Included by emit.h (with a reader), and by maps.bpf.c for the scratch map alone.
 */
#ifndef MESH_TRACE_PAYLOAD_H
#define MESH_TRACE_PAYLOAD_H

#include "common.h"

/* the linear bytes are copied 16 at a time: room for the last step's overshoot */
#define MT_PL_CHUNK 16
struct mt_pl_buf {
	struct mt_event ev;
	__u8 data[MT_SNAPLEN_MAX + MT_PL_CHUNK];
};

MT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_pl_buf);
} mt_pl_scratch SEC(".maps");

#if defined(MT_READER_BTF) || defined(MT_READER_PROBE)
#include "reader.h"

/* where the packet's IP header starts and how much of it each way of reading reaches */
struct mt_pl_skb {
	__u64 l3;         /* address of the IP header */
	__u32 linear;     /* bytes from l3 to the end of the linear area */
	__s64 l3_off;     /* l3 - skb->data (what bpf_skb_load_bytes counts from) */
	__u32 len;        /* skb->len: bytes from skb->data, frags included */
};

static __always_inline void mt_pl_where(__u64 head, __u64 data, __u16 nh, __u32 tail, __u32 len,
					struct mt_pl_skb *o)
{
	/* the rule mt_parse uses: network_header is ~0 until the stack sets it, and then data
	 * points at L3 on receive paths */
	__u64 l3 = nh != (__u16)~0U ? head + nh : data;
	__u64 end = head + tail;

	o->l3 = l3;
	o->linear = end > l3 && end - l3 < 0x10000 ? end - l3 : 0;
	o->l3_off = (__s64)(l3 - data);
	o->len = len;
}

#if defined(MT_READER_BTF)

static __always_inline void mt_pl_rd_skb(__u64 addr, struct mt_pl_skb *o)
{
	const struct sk_buff *skb = MT_CAST(struct sk_buff, addr);

	mt_pl_where((__u64)skb->head, (__u64)skb->data, skb->network_header, skb->tail, skb->len, o);
}

/* caplen (> 0, <= MT_SNAPLEN_MAX) linear bytes from l3 into dst */
static __always_inline void mt_pl_copy_linear(__u8 *dst, __u64 l3, __u32 caplen)
{
	for (__u32 i = 0; i < MT_SNAPLEN_MAX; i += MT_PL_CHUNK) {
		const struct in6_addr *w;
		__u32 *d;

		if (i >= caplen)
			break;
		w = MT_CAST(struct in6_addr, l3 + i);
		d = (__u32 *)(dst + i);
		d[0] = w->in6_u.u6_addr32[0];
		d[1] = w->in6_u.u6_addr32[1];
		d[2] = w->in6_u.u6_addr32[2];
		d[3] = w->in6_u.u6_addr32[3];
	}
}

#elif defined(MT_READER_PROBE)

static __always_inline void mt_pl_rd_skb(__u64 addr, struct mt_pl_skb *o)
{
	const struct sk_buff *skb = (const struct sk_buff *)addr;

	mt_pl_where((__u64)BPF_CORE_READ(skb, head), (__u64)BPF_CORE_READ(skb, data),
		    BPF_CORE_READ(skb, network_header), BPF_CORE_READ(skb, tail), BPF_CORE_READ(skb, len), o);
}

static __always_inline void mt_pl_copy_linear(__u8 *dst, __u64 l3, __u32 caplen)
{
	bpf_probe_read_kernel(dst, caplen, (const void *)l3);
}

#endif

/* v = 0 unless v <= max, checked on the very register the helper is then given: without
 * the barrier clang proves the check redundant and the verifier sees no bound */
#define MT_PL_BOUND(v, max)                    \
	do {                                   \
		asm volatile("" : "+r"(v));    \
		if ((v) > (max))               \
			(v) = 0;               \
	} while (0)

/*
 * Submit ev followed by up to mt_cfg.snaplen bytes of its packet. tc_ctx is a tc
 * program's context (NULL from every other hook: the compiler drops that branch).
 */
static __always_inline void mt_submit_payload(const struct mt_event *ev, void *tc_ctx)
{
	__u32 zero = 0, snaplen = mt_cfg.snaplen;
	__u64 caplen = 0; /* 64-bit: the bound is then checked on the register the helper gets */
	struct mt_pl_buf *buf = bpf_map_lookup_elem(&mt_pl_scratch, &zero);
	struct mt_pl_skb s = {};
	__u64 size, avail;

	if (!buf)
		return;
	__builtin_memcpy(&buf->ev, ev, sizeof(buf->ev));
	if (snaplen > MT_SNAPLEN_MAX)
		snaplen = MT_SNAPLEN_MAX;
	if (!(ev->flags & MT_F_NO_L3)) {
		mt_pl_rd_skb(ev->skb, &s);
		if (tc_ctx) {
			if (s.l3_off >= 0 && s.l3_off < s.len) {
				caplen = s.len - (__u32)s.l3_off;
				if (caplen > snaplen)
					caplen = snaplen;
				/* bpf_skb_load_bytes wants 1..max proven on the register it gets, and
				 * 6.1's verifier learns no lower bound from "!= 0": bound caplen - 1
				 * (0 wraps around and fails) and pass that + 1 */
				__u64 m = caplen - 1;

				asm volatile("" : "+r"(m));
				if (m < MT_SNAPLEN_MAX &&
				    !bpf_skb_load_bytes(tc_ctx, (__u32)s.l3_off, buf->data, m + 1))
					caplen = m + 1;
				else
					caplen = 0;
			}
		} else {
			caplen = s.linear < snaplen ? s.linear : snaplen;
			MT_PL_BOUND(caplen, MT_SNAPLEN_MAX);
			if (caplen)
				mt_pl_copy_linear(buf->data, s.l3, caplen);
		}
	}
	buf->ev.caplen = caplen;
	size = sizeof(buf->ev) + caplen;
	MT_PL_BOUND(size, sizeof(buf->ev) + MT_SNAPLEN_MAX);
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (bpf_ringbuf_output(&events, buf, size, mt_wakeup_flags(avail, avail + size + 8))) {
		mt_count(MT_CNT_RING_FULL);
		return;
	}
	mt_count(MT_CNT_EMITTED);
}

#endif /* a reader */
#endif
