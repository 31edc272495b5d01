/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Device ingress/egress: attached per device (veth, bridge, vxlan, physical) in every
 * namespace, through a tcx link where the kernel has one, else a clsact filter.
 * Both rungs run the same program: TCX_NEXT and TC_ACT_UNSPEC are both -1, "carry on".
 * Compiled twice (MT_PROG_NAME, MT_KERN_SKB: see reader.h): with kfuncs and without.
 */

#define MT_TC_CONTINUE -1

/* a frame entering the device from its wire (or from the veth peer) */
SEC("tc")
int MT_PROG_NAME(mt_tc_ingress)(struct __sk_buff *ctx)
{
	/* the kernel sk_buff behind the context: the same address the tracepoints see */
	struct sk_buff *skb = MT_KERN_SKB(ctx);
	struct mt_where w = { .tc_ctx = ctx };

	mt_emit(skb, MT_HOOK_TC_INGRESS, MT_DIR_INGRESS, 0, 0, &w, false);
	return MT_TC_CONTINUE;
}

/* a frame leaving through the device, before its qdisc */
SEC("tc")
int MT_PROG_NAME(mt_tc_egress)(struct __sk_buff *ctx)
{
	struct sk_buff *skb = MT_KERN_SKB(ctx);
	struct mt_where w = { .tc_ctx = ctx };

	mt_emit(skb, MT_HOOK_TC_EGRESS, MT_DIR_EGRESS, 0, 0, &w, false);
	return MT_TC_CONTINUE;
}
