/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Kernel functions on a packet's path through veth, bridge and VXLAN: one handler per
 * function and two thin entry points, fentry (preferred: cheaper, typed arguments) and
 * kprobe (older or fentry-less kernels). The loader autoloads only the rung it chose.
 * Reads go through bpf_probe_read_kernel, which kprobes require.
 */
#define MT_READER_PROBE
#include "emit.h"

/* a veth hands the frame to its peer: the namespace crossing itself */
#define MT_VETH_XMIT(skb) mt_emit(skb, MT_HOOK_VETH_XMIT, MT_DIR_EGRESS, 0, 0, NULL, false)
SEC("fentry/veth_xmit")
int BPF_PROG(mt_fentry_veth_xmit, struct sk_buff *skb) { return MT_VETH_XMIT(skb); }
SEC("kprobe/veth_xmit")
int BPF_KPROBE(mt_kprobe_veth_xmit, struct sk_buff *skb) { return MT_VETH_XMIT(skb); }

/* a bridge port receives a frame (rx_handler: the skb comes by reference) */
static __always_inline int mt_br_handle(struct sk_buff **pskb)
{
	struct sk_buff *skb = NULL;

	bpf_probe_read_kernel(&skb, sizeof(skb), pskb);
	if (!skb)
		return 0;
	return mt_emit(skb, MT_HOOK_BR_HANDLE, MT_DIR_INGRESS, 0, 0, NULL, false);
}
/* The verifier types fentry arguments from the kernel's BTF and refuses a direct read of a
 * pointer to a pointer ("arg0 type PTR is not a struct"): fetch it untyped instead. */
SEC("fentry/br_handle_frame")
int mt_fentry_br_handle_frame(void *ctx)
{
	__u64 pskb = 0;

	if (bpf_get_func_arg(ctx, 0, &pskb))
		return 0;
	return mt_br_handle((struct sk_buff **)pskb);
}
SEC("kprobe/br_handle_frame")
int BPF_KPROBE(mt_kprobe_br_handle_frame, struct sk_buff **pskb) { return mt_br_handle(pskb); }

/* the bridge forwards a frame to a port: aux = the destination port's ifindex */
static __always_inline int mt_br_forward(const struct net_bridge_port *to, struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(to, dev);
	__u32 out = dev ? BPF_CORE_READ(dev, ifindex) : 0;

	return mt_emit(skb, MT_HOOK_BR_FORWARD, MT_DIR_EGRESS, out, 0, NULL, false);
}
SEC("fentry/br_forward")
int BPF_PROG(mt_fentry_br_forward, const struct net_bridge_port *to, struct sk_buff *skb)
{
	return mt_br_forward(to, skb);
}
SEC("kprobe/br_forward")
int BPF_KPROBE(mt_kprobe_br_forward, const struct net_bridge_port *to, struct sk_buff *skb)
{
	return mt_br_forward(to, skb);
}

/* VXLAN encapsulation begins: the skb still holds the inner frame */
#define MT_VXLAN_XMIT(skb) mt_emit(skb, MT_HOOK_VXLAN_XMIT, MT_DIR_EGRESS, 0, 0, NULL, false)
SEC("fentry/vxlan_xmit_one")
int BPF_PROG(mt_fentry_vxlan_xmit_one, struct sk_buff *skb) { return MT_VXLAN_XMIT(skb); }
SEC("kprobe/vxlan_xmit_one")
int BPF_KPROBE(mt_kprobe_vxlan_xmit_one, struct sk_buff *skb) { return MT_VXLAN_XMIT(skb); }

/* VXLAN decapsulation begins: the skb is the outer UDP datagram */
#define MT_VXLAN_RCV(skb) mt_emit(skb, MT_HOOK_VXLAN_RCV, MT_DIR_INGRESS, 0, 0, NULL, false)
SEC("fentry/vxlan_rcv")
int BPF_PROG(mt_fentry_vxlan_rcv, struct sock *sk, struct sk_buff *skb) { return MT_VXLAN_RCV(skb); }
SEC("kprobe/vxlan_rcv")
int BPF_KPROBE(mt_kprobe_vxlan_rcv, struct sock *sk, struct sk_buff *skb) { return MT_VXLAN_RCV(skb); }
