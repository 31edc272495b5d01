/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * How a program reads kernel memory: the one thing that differs between hook kinds.
 *
 * MT_READER_BTF (tc, tp_btf, netfilter): the skb is a trusted BTF pointer, and packet
 *   bytes are read through bpf_rdonly_cast, whose loads work under lockdown (this
 *   machine), where bpf_probe_read_kernel returns an error.
 * MT_READER_PROBE (kprobe, and fentry beside it): the skb is a plain address; every read
 *   goes through bpf_probe_read_kernel (BPF_CORE_READ), which kprobes require and which
 *   works on the unlocked kernels where kprobes exist.
 *
 * MT_READER_PROBE also builds the tc and tp_btf hooks a second time (probe_hooks.bpf.c)
 *   for kernels without the kfuncs above (6.1 has neither): they read like kprobes do.
 *
 * Bitfields (iphdr.ihl, tcphdr flags) are read as whole bytes through a struct ethhdr
 * view of the same address: its first 14 bytes are plain byte arrays and a be16.
 */
#ifndef MESH_TRACE_READER_H
#define MESH_TRACE_READER_H

#include "common.h"

struct mt_skb {
	const unsigned char *head;
	const unsigned char *data;
	__u16 network_header;
	__u16 mac_header;
	__u16 protocol; /* be16 */
	__u32 len;
	__u32 mark;
	__u32 ifindex; /* mt_rd_dev: only for packets worth the pointer chase; 0 without a device */
	__u32 netns;
};

struct mt_ip4 {
	__u8 ver_ihl;
	__u8 ttl;
	__u8 proto;
	__u16 tot_len; /* be */
	__u16 id;      /* be */
	__u16 frag_off; /* be: flags + fragment offset */
	__u32 saddr;
	__u32 daddr;
};

struct mt_ip6 {
	__u8 nexthdr;
	__u8 hop_limit;
	__u16 payload_len; /* be */
	__u32 saddr[4];
	__u32 daddr[4];
};

struct mt_l4 {
	__u16 sport; /* be */
	__u16 dport; /* be */
	__u32 seq;   /* be (TCP) */
	__u32 ack;   /* be (TCP) */
	__u16 off_flags; /* be: bytes 12-13 of a TCP header, data offset and flags */
};

/* Hooks compiled with both readers (tc, tracepoints) get one program name per reader, and
 * BPF_PROG pastes its name argument, so the name is expanded one macro level up. */
#define MT_BPF_PROG(name, args...) BPF_PROG(name, ##args)

/* skb->dev shares its word with dev_scratch, where UDP keeps a queued skb's receive state
 * until it is consumed: that is no pointer (its top bit is clear, a kernel address's is
 * set), and following it costs a fault (~1 us a packet in consume_skb, measured) for
 * nothing. */
#define MT_KERNEL_PTR(p) ((__s64)(unsigned long)(p) < 0)

#if defined(MT_READER_BTF)

#define MT_PROG_NAME(name) name
/* the kernel sk_buff behind a tc context, typed (kfunc, 6.3+) */
#define MT_KERN_SKB(ctx) ((struct sk_buff *)bpf_cast_to_kern_ctx(ctx))
#define MT_CAST(type, p) ((const type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

static __always_inline int mt_rd_skb(struct sk_buff *skb, struct mt_skb *o)
{
	o->head = skb->head;
	o->data = skb->data;
	o->network_header = skb->network_header;
	o->mac_header = skb->mac_header;
	o->protocol = skb->protocol;
	o->len = skb->len;
	o->mark = skb->mark;
	return 0;
}

static __always_inline void mt_rd_dev(struct sk_buff *skb, struct mt_skb *o)
{
	struct net_device *dev = skb->dev;

	if (!MT_KERNEL_PTR(dev))
		return;
	o->ifindex = dev->ifindex;
	o->netns = dev->nd_net.net->ns.inum;
}

static __always_inline int mt_rd_ip4(const void *p, struct mt_ip4 *o)
{
	const struct iphdr *h = MT_CAST(struct iphdr, p);
	const struct ethhdr *b = MT_CAST(struct ethhdr, p);

	o->ver_ihl = b->h_dest[0];
	o->ttl = h->ttl;
	o->proto = h->protocol;
	o->tot_len = h->tot_len;
	o->id = h->id;
	o->frag_off = h->frag_off;
	o->saddr = h->saddr;
	o->daddr = h->daddr;
	return 0;
}

static __always_inline int mt_rd_ip6(const void *p, struct mt_ip6 *o)
{
	const struct ipv6hdr *h = MT_CAST(struct ipv6hdr, p);

	o->nexthdr = h->nexthdr;
	o->hop_limit = h->hop_limit;
	o->payload_len = h->payload_len;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		o->saddr[i] = h->saddr.in6_u.u6_addr32[i];
		o->daddr[i] = h->daddr.in6_u.u6_addr32[i];
	}
	return 0;
}

static __always_inline int mt_rd_l4(const void *p, struct mt_l4 *o)
{
	const struct tcphdr *t = MT_CAST(struct tcphdr, p);
	const struct ethhdr *b = MT_CAST(struct ethhdr, p);

	o->sport = t->source;
	o->dport = t->dest;
	o->seq = t->seq;
	o->ack = t->ack_seq;
	o->off_flags = b->h_proto; /* bytes 12-13 */
	return 0;
}

/* bytes 4..7 of a UDP or VXLAN header (UDP length + checksum; VXLAN VNI + reserved) */
static __always_inline int mt_rd_word4(const void *p, __u16 *hi, __u16 *lo)
{
	const struct udphdr *u = MT_CAST(struct udphdr, p);

	*hi = u->len;
	*lo = u->check;
	return 0;
}

/* the EtherType of an Ethernet header */
static __always_inline __u16 mt_rd_be16_at12(const void *p)
{
	return MT_CAST(struct ethhdr, p)->h_proto;
}

#elif defined(MT_READER_PROBE)

/* the kfunc-free twin of a hook: "<name>_pr" (probe reads) */
#define MT_PROG_NAME(name) name##_pr
/* Without bpf_cast_to_kern_ctx: a tc program's context register holds the kernel
 * sk_buff's address itself (__sk_buff is a view the verifier rewrites onto it), so it is
 * the same identity the tracepoints see. Used only as an address, read through
 * bpf_probe_read_kernel; the verifier allows that for root (allow_ptr_leaks). */
#define MT_KERN_SKB(ctx) ((struct sk_buff *)(ctx))

static __always_inline int mt_rd_skb(struct sk_buff *skb, struct mt_skb *o)
{
	o->head = BPF_CORE_READ(skb, head);
	o->data = BPF_CORE_READ(skb, data);
	o->network_header = BPF_CORE_READ(skb, network_header);
	o->mac_header = BPF_CORE_READ(skb, mac_header);
	o->protocol = BPF_CORE_READ(skb, protocol);
	o->len = BPF_CORE_READ(skb, len);
	o->mark = BPF_CORE_READ(skb, mark);
	return 0;
}

static __always_inline void mt_rd_dev(struct sk_buff *skb, struct mt_skb *o)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	if (!MT_KERNEL_PTR(dev))
		return;
	o->ifindex = BPF_CORE_READ(dev, ifindex);
	o->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

static __always_inline int mt_rd_ip4(const void *p, struct mt_ip4 *o)
{
	struct iphdr h;

	if (bpf_probe_read_kernel(&h, sizeof(h), p))
		return -1;
	o->ver_ihl = *(__u8 *)&h;
	o->ttl = h.ttl;
	o->proto = h.protocol;
	o->tot_len = h.tot_len;
	o->id = h.id;
	o->frag_off = h.frag_off;
	o->saddr = h.saddr;
	o->daddr = h.daddr;
	return 0;
}

static __always_inline int mt_rd_ip6(const void *p, struct mt_ip6 *o)
{
	struct ipv6hdr h;

	if (bpf_probe_read_kernel(&h, sizeof(h), p))
		return -1;
	o->nexthdr = h.nexthdr;
	o->hop_limit = h.hop_limit;
	o->payload_len = h.payload_len;
	__builtin_memcpy(o->saddr, &h.saddr, 16);
	__builtin_memcpy(o->daddr, &h.daddr, 16);
	return 0;
}

static __always_inline int mt_rd_l4(const void *p, struct mt_l4 *o)
{
	__u8 b[14];

	if (bpf_probe_read_kernel(b, sizeof(b), p))
		return -1;
	o->sport = *(__u16 *)&b[0];
	o->dport = *(__u16 *)&b[2];
	o->seq = *(__u32 *)&b[4];
	o->ack = *(__u32 *)&b[8];
	o->off_flags = *(__u16 *)&b[12];
	return 0;
}

static __always_inline int mt_rd_word4(const void *p, __u16 *hi, __u16 *lo)
{
	__u16 w[4];

	if (bpf_probe_read_kernel(w, sizeof(w), p))
		return -1;
	*hi = w[2];
	*lo = w[3];
	return 0;
}

static __always_inline __u16 mt_rd_be16_at12(const void *p)
{
	__u16 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const __u8 *)p + 12);
	return v;
}

#else
#error "define MT_READER_BTF or MT_READER_PROBE before including reader.h"
#endif

#endif
