/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Benchmark producer: fills the ring with synthetic records as fast as the kernel can,
 * so the transport (ring -> addon -> TypeScript) is measured apart from packet costs.
 * Never autoloaded in a tracing session.
 */
#include "common.h"

struct mt_bench_args {
	__u32 count;      /* records to produce in this run */
	__u32 produced;   /* out */
	__u32 dropped;    /* out: ring full */
	__u32 _pad;
};

static long mt_bench_one(__u32 i, struct mt_bench_args *args)
{
	struct mt_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 avail;

	if (!ev) {
		args->dropped++;
		mt_count(MT_CNT_RING_FULL);
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = MT_EV_PACKET;
	ev->version = MT_EVENT_VERSION;
	ev->hook = MT_HOOK_TC_INGRESS;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->skb = i;
	ev->len = 64;
	ev->flags = MT_F_L4;
	ev->outer.proto = 6;
	ev->outer.dport = 1080;
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(ev, mt_wakeup_flags(avail - sizeof(*ev) - 8, avail));
	args->produced++;
	mt_count(MT_CNT_EMITTED);
	return 0;
}

SEC("syscall")
int mt_bench_produce(struct mt_bench_args *args)
{
	/* bpf_loop's context must live on the stack */
	struct mt_bench_args a = { .count = args->count };

	bpf_loop(a.count, mt_bench_one, &a, 0);
	args->produced = a.produced;
	args->dropped = a.dropped;
	return 0;
}
