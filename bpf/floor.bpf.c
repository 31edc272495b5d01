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
