/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Netfilter links, attached in each namespace just before and just after the mangle/NAT
 * priorities of a hook: the difference between the two events of the same skb is the
 * rewrite (DNAT, REDIRECT, SNAT, MASQUERADE) or the mark set by iptables. The loader sets
 * the program type (BPF_PROG_TYPE_NETFILTER) since libbpf 1.1 predates it.
 *
 * aux = stage << 16 | pf << 8 | hooknum; stage 0 = before, 1 = after.
 */

#define MT_NF_ACCEPT 1

static __always_inline int mt_nf(struct bpf_nf_ctx *ctx, __u32 stage)
{
	const struct nf_hook_state *st = ctx->state;
	struct sk_buff *skb = ctx->skb;
	struct mt_where w = {};
	struct net_device *dev;
	__u32 hook = st->hook;

	/* on LOCAL_OUT skb->dev is not set yet: the namespace and device come from the hook */
	w.netns = st->net->ns.inum;
	dev = (hook == 3 /* LOCAL_OUT */ || hook == 4 /* POST_ROUTING */) ? st->out : st->in;
	if (dev)
		w.ifindex = dev->ifindex;
	mt_emit(skb, MT_HOOK_NF, hook == 0 || hook == 1 ? MT_DIR_INGRESS : MT_DIR_EGRESS,
		(stage << 16) | ((__u32)st->pf << 8) | hook, 0, &w, false);
	return MT_NF_ACCEPT;
}

SEC("netfilter")
int mt_nf_before(struct bpf_nf_ctx *ctx)
{
	return mt_nf(ctx, 0);
}

SEC("netfilter")
int mt_nf_after(struct bpf_nf_ctx *ctx)
{
	return mt_nf(ctx, 1);
}
