/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Device transmit/receive and the end of every skb's life, host-wide (all namespaces).
 * Compiled twice (MT_PROG_NAME: see reader.h): with kfunc reads and without. */

/* the driver is handed the frame: after the qdisc, the moment it leaves the device */
SEC("tp_btf/net_dev_start_xmit")
int MT_BPF_PROG(MT_PROG_NAME(mt_tp_xmit), struct sk_buff *skb, struct net_device *dev)
{
	return mt_emit(skb, MT_HOOK_DEV_XMIT, MT_DIR_EGRESS, 0, 0, NULL, false);
}

/* the stack takes a frame from a device (after GRO, before tc ingress and the bridge) */
SEC("tp_btf/netif_receive_skb")
int MT_BPF_PROG(MT_PROG_NAME(mt_tp_recv), struct sk_buff *skb)
{
	return mt_emit(skb, MT_HOOK_DEV_RECV, MT_DIR_INGRESS, 0, 0, NULL, false);
}

/* a packet dies: the reason names why (netfilter drop, no route, no socket, ...) */
SEC("tp_btf/kfree_skb")
int MT_BPF_PROG(MT_PROG_NAME(mt_tp_drop), struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return mt_emit(skb, MT_HOOK_DROP, MT_DIR_NONE, 0, (__u32)reason, NULL, true);
}

/* a packet is freed after normal delivery: its journey on this node is over */
SEC("tp_btf/consume_skb")
int MT_BPF_PROG(MT_PROG_NAME(mt_tp_consume), struct sk_buff *skb)
{
	return mt_emit(skb, MT_HOOK_CONSUME, MT_DIR_NONE, 0, 0, NULL, true);
}
