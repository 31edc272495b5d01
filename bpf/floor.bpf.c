/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Benchmark floor: programs that return at once, attached where the real hooks attach
 * (bench/veth.js swaps them in). What a packet pays with these is the kernel's own cost
 * of running N programs on it (tcx/netfilter dispatch, tracepoint trampolines), which no
 * change to our code can remove. Never autoloaded in a tracing session.
 */
#include "common.h"

SEC("tc")
int mt_floor_tc(struct __sk_buff *ctx)
{
	return -1; /* TCX_NEXT / TC_ACT_UNSPEC */
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(mt_floor_xmit)
{
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(mt_floor_recv)
{
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(mt_floor_drop)
{
	return 0;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(mt_floor_consume)
{
	return 0;
}

SEC("netfilter")
int mt_floor_nf(void *ctx)
{
	return 1; /* NF_ACCEPT */
}

/*
 * The ring's share of an emitted record, apart from the parse (bench/vethfloor.js puts
 * these at tc egress and ingress, with the empty consume_skb floor): a reservation and
 * submit alone; then with the 160-byte record zeroed on the stack and copied in; then
 * also asking how much waits (exactly mt_submit's path). The records are marked with an
 * unknown type, so the reader counts and skips them.
 */
#define MT_FLOOR_UNKNOWN 0xee

/* a reserved slot holding a zeroed record (built on the stack and copied in, as
 * mt_submit does), or NULL when the ring is full */
static __always_inline struct mt_event *mt_floor_slot(struct __sk_buff *ctx)
{
	struct mt_event ev;
	struct mt_event *slot;

	__builtin_memset(&ev, 0, sizeof(ev));
	ev.type = MT_FLOOR_UNKNOWN;
	ev.skb = (__u64)ctx;
	slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);
	if (slot)
		__builtin_memcpy(slot, &ev, sizeof(*slot));
	return slot;
}

SEC("tc")
int mt_floor_ring_resv(struct __sk_buff *ctx)
{
	struct mt_event *slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);

	if (slot) {
		slot->type = MT_FLOOR_UNKNOWN;
		bpf_ringbuf_submit(slot, BPF_RB_NO_WAKEUP);
	}
	return -1;
}

SEC("tc")
int mt_floor_ring_copy(struct __sk_buff *ctx)
{
	struct mt_event *slot = mt_floor_slot(ctx);

	if (slot)
		bpf_ringbuf_submit(slot, BPF_RB_NO_WAKEUP);
	return -1;
}

/* mt_submit's path before the wakeup change: once a quarter batch waits, every record
 * asks for a wakeup until the reader has drained the ring */
SEC("tc")
int mt_floor_ring_query(struct __sk_buff *ctx)
{
	struct mt_event *slot = mt_floor_slot(ctx);
	__u64 flags;

	if (!slot) {
		mt_count(MT_CNT_RING_FULL);
		return -1;
	}
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + sizeof(*slot) >= mt_cfg.wakeup_bytes
			? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(slot, flags);
	mt_count(MT_CNT_EMITTED);
	return -1;
}

/* mt_floor_ring_query's wakeup apart: the same query, but never waking (the reader's
 * 4 ms poll finds the records); and the counter alone */
SEC("tc")
int mt_floor_ring_qnowake(struct __sk_buff *ctx)
{
	struct mt_event *slot = mt_floor_slot(ctx);

	if (!slot)
		return -1;
	/* the answer kept in the record, so the query is not optimised away */
	slot->aux = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + sizeof(*slot) >= mt_cfg.wakeup_bytes;
	bpf_ringbuf_submit(slot, BPF_RB_NO_WAKEUP);
	mt_count(MT_CNT_EMITTED);
	return -1;
}

/* waking only when this record takes the waiting data across t: once per batch instead
 * of on every record until the reader has drained the ring */
static __always_inline int mt_floor_cross(struct __sk_buff *ctx, __u64 t)
{
	struct mt_event *slot = mt_floor_slot(ctx);
	__u64 avail;

	if (!slot)
		return -1;
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(slot, avail >= t && avail < t + 2 * (sizeof(*slot) + 8) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	mt_count(MT_CNT_EMITTED);
	return -1;
}

SEC("tc")
int mt_floor_ring_cross(struct __sk_buff *ctx)
{
	return mt_floor_cross(ctx, mt_cfg.wakeup_bytes);
}

/* the same crossing rule, at 16 times the threshold (4 batches of 1,024 records) */
SEC("tc")
int mt_floor_ring_cross16(struct __sk_buff *ctx)
{
	return mt_floor_cross(ctx, 16 * (__u64)mt_cfg.wakeup_bytes);
}
