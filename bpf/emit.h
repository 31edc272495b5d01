/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Parse an skb's headers (outer, and inner when VXLAN-encapsulated), apply the filter,
 * and submit one mt_event. Included after reader.h, which picks how memory is read.
 */
#ifndef MESH_TRACE_EMIT_H
#define MESH_TRACE_EMIT_H

#include "reader.h"
#include "payload.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define VXLAN_FLAG_VNI 0x08

/* overrides a hook may know better than skb->dev (netfilter's state->net and in/out) */
struct mt_where {
	__u32 netns;   /* 0: from skb->dev */
	__u32 ifindex; /* 0: from skb->dev */
	void *tc_ctx;  /* a tc program's context: payload.h reads --snaplen bytes through it */
};

/* One IP header (and its TCP/UDP ports) at l3 into h. Returns the L4 header address when
 * ports were read, NULL otherwise. */
static __always_inline const unsigned char *mt_parse_ip(const unsigned char *l3, __u16 eth_proto,
							 struct mt_headers *h, __u16 *flags,
							 __u16 f_v6, __u16 f_l4)
{
	const unsigned char *l4 = NULL;
	__u8 proto;

	if (eth_proto == bpf_htons(ETH_P_IP)) {
		struct mt_ip4 ip;

		if (mt_rd_ip4(l3, &ip) || (ip.ver_ihl >> 4) != 4)
			return NULL;
		__builtin_memcpy(h->saddr, &ip.saddr, 4);
		__builtin_memcpy(h->daddr, &ip.daddr, 4);
		h->ip_id = bpf_ntohs(ip.id);
		h->ip_len = bpf_ntohs(ip.tot_len);
		h->ttl = ip.ttl;
		h->proto = ip.proto;
		proto = ip.proto;
		/* non-first fragments carry no ports */
		if (bpf_ntohs(ip.frag_off) & 0x1fff)
			return NULL;
		l4 = l3 + (ip.ver_ihl & 0x0f) * 4;
	} else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
		struct mt_ip6 ip;

		if (mt_rd_ip6(l3, &ip))
			return NULL;
		__builtin_memcpy(h->saddr, ip.saddr, 16);
		__builtin_memcpy(h->daddr, ip.daddr, 16);
		h->ip_len = bpf_ntohs(ip.payload_len) + 40;
		h->ttl = ip.hop_limit;
		h->proto = ip.nexthdr;
		proto = ip.nexthdr;
		*flags |= f_v6;
		/* extension headers are not walked: ports stay unknown behind them */
		l4 = l3 + 40;
	} else {
		return NULL;
	}

	if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_) {
		struct mt_l4 t;

		if (mt_rd_l4(l4, &t))
			return NULL;
		h->sport = bpf_ntohs(t.sport);
		h->dport = bpf_ntohs(t.dport);
		if (proto == IPPROTO_TCP_) {
			h->tcp_seq = bpf_ntohl(t.seq);
			h->tcp_ack = bpf_ntohl(t.ack);
			h->tcp_flags = bpf_ntohs(t.off_flags) & 0x3f;
		}
		*flags |= f_l4;
		return l4;
	}
	return NULL;
}

/* Outer headers from the skb, then the inner packet when the outer one is VXLAN. */
static __always_inline int mt_parse(const struct mt_skb *s, struct mt_event *ev)
{
	const unsigned char *l3, *l4;
	__u16 hi, lo;

	/* network_header is ~0 until the stack sets it; before that data points at L3 on
	 * receive paths. */
	l3 = s->network_header != (__u16)~0U ? s->head + s->network_header : s->data;
	l4 = mt_parse_ip(l3, s->protocol, &ev->outer, &ev->flags, MT_F_IPV6, MT_F_L4);
	if (!(ev->flags & (MT_F_L4 | MT_F_IPV6)) && !ev->outer.proto) {
		ev->flags |= MT_F_NO_L3;
		return 0;
	}
	if (!l4 || ev->outer.proto != IPPROTO_UDP_)
		return 0;
	if (ev->outer.dport != VXLAN_PORT && ev->outer.dport != 8472)
		return 0;

	/* VXLAN (RFC 7348): 8-byte header after UDP, then the inner Ethernet frame */
	if (mt_rd_word4(l4 + 8 - 4, &hi, &lo)) /* bytes 0..3 of the VXLAN header as "len/check" */
		return 0;
	if (!(bpf_ntohs(hi) >> 8 & VXLAN_FLAG_VNI))
		return 0;
	if (mt_rd_word4(l4 + 8, &hi, &lo))
		return 0;
	ev->vni = ((__u32)bpf_ntohs(hi) << 8) | (bpf_ntohs(lo) >> 8);
	ev->flags |= MT_F_ENCAP;
	mt_parse_ip(l4 + 16 + ETH_HLEN, mt_rd_be16_at12(l4 + 16), &ev->inner, &ev->flags,
		    MT_F_INNER_V6, MT_F_INNER_L4);
	return 0;
}

static __always_inline bool mt_addr_match(const __u8 *a)
{
	__u32 prefix = mt_cfg.addr_prefix;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 bits = prefix > 32 * i ? prefix - 32 * i : 0;
		__u32 mask, x, y;

		if (bits == 0)
			break;
		if (bits > 32)
			bits = 32;
		mask = bpf_htonl(bits == 32 ? ~0U : ~(~0U >> bits));
		__builtin_memcpy(&x, a + 4 * i, 4);
		__builtin_memcpy(&y, (const __u8 *)mt_cfg.addr + 4 * i, 4);
		if ((x & mask) != (y & mask))
			return false;
	}
	return true;
}

static __always_inline bool mt_headers_match(const struct mt_headers *h, bool v6, bool l4)
{
	if (mt_cfg.proto && h->proto != mt_cfg.proto)
		return false;
	if (mt_cfg.port && (!l4 || (h->sport != mt_cfg.port && h->dport != mt_cfg.port)))
		return false;
	if (mt_cfg.addr_prefix) {
		if (v6 != !!mt_cfg.addr_v6)
			return false;
		if (!mt_addr_match(h->saddr) && !mt_addr_match(h->daddr))
			return false;
	}
	return true;
}

static __always_inline bool mt_netns_allowed(__u32 netns)
{
	__u32 n = mt_cfg.netns_count;

	if (!n)
		return true;
	for (int i = 0; i < MT_MAX_NETNS; i++) {
		if (i >= n)
			break;
		if (mt_cfg.netns[i] == netns)
			return true;
	}
	return false;
}

static __always_inline void mt_tuple_of(const struct mt_headers *h, struct mt_tuple *t, bool reverse)
{
	__builtin_memcpy(t->saddr, reverse ? h->daddr : h->saddr, 16);
	__builtin_memcpy(t->daddr, reverse ? h->saddr : h->daddr, 16);
	t->sport = reverse ? h->dport : h->sport;
	t->dport = reverse ? h->sport : h->dport;
	t->proto = h->proto;
}

/* The packet's own tuple: the inner one when encapsulated (the outer tuple is shared by
 * every flow across the tunnel and would make all of them match). */
static __always_inline const struct mt_headers *mt_flow_headers(const struct mt_event *ev, bool *l4)
{
	if (ev->flags & MT_F_ENCAP) {
		*l4 = ev->flags & MT_F_INNER_L4;
		return &ev->inner;
	}
	*l4 = ev->flags & MT_F_L4;
	return &ev->outer;
}

static __always_inline void mt_port_mark(__u16 port)
{
	__u32 idx = port >> 6;
	__u64 *w = bpf_map_lookup_elem(&tracked_ports, &idx);

	if (w && !(*w & (1ULL << (port & 63))))
		__sync_fetch_and_or(w, 1ULL << (port & 63));
}

static __always_inline bool mt_port_marked(__u16 port)
{
	__u32 idx = port >> 6;
	__u64 *w = bpf_map_lookup_elem(&tracked_ports, &idx);

	return w && (*w & (1ULL << (port & 63)));
}

static __always_inline void mt_remember_tuples(const struct mt_event *ev)
{
	struct mt_tuple t = {};
	__u8 one = 1;
	bool l4;
	const struct mt_headers *h = mt_flow_headers(ev, &l4);

	if (!l4)
		return;
	mt_port_mark(h->sport);
	mt_port_mark(h->dport);
	mt_tuple_of(h, &t, false);
	if (!bpf_map_lookup_elem(&tracked_tuples, &t))
		bpf_map_update_elem(&tracked_tuples, &t, &one, BPF_ANY);
	mt_tuple_of(h, &t, true);
	if (!bpf_map_lookup_elem(&tracked_tuples, &t))
		bpf_map_update_elem(&tracked_tuples, &t, &one, BPF_ANY);
}

static __always_inline bool mt_tuple_tracked(const struct mt_event *ev)
{
	struct mt_tuple t = {};
	bool l4;
	const struct mt_headers *h = mt_flow_headers(ev, &l4);

	if (!l4)
		return false;
	mt_tuple_of(h, &t, false);
	return bpf_map_lookup_elem(&tracked_tuples, &t) != NULL;
}

/* The filter itself, on the outer headers or, when encapsulated, the inner ones. */
static __always_inline bool mt_static_match(const struct mt_event *ev)
{
	return mt_headers_match(&ev->outer, ev->flags & MT_F_IPV6, ev->flags & MT_F_L4) ||
	       ((ev->flags & MT_F_ENCAP) &&
		mt_headers_match(&ev->inner, ev->flags & MT_F_INNER_V6, ev->flags & MT_F_INNER_L4));
}

/* Only a packet with a port of some followed flow can be that flow, or its skb (NAT
 * rewrites one side of a tuple at a time, so a port of the flow survives). */
static __always_inline bool mt_might_be_followed(const struct mt_event *ev)
{
	bool l4;
	const struct mt_headers *h = mt_flow_headers(ev, &l4);

	if (!l4)
		return true; /* no ports to judge by: ask the maps */
	return mt_port_marked(h->sport) || mt_port_marked(h->dport);
}

/*
 * A packet the filter surely does not want, judged from one IPv4 header and its ports,
 * before a record is even zeroed: not the filter's, and no port of a followed flow (so
 * neither its skb nor its tuple can be followed, as in mt_want). Anything else (IPv6,
 * VXLAN, fragments, non-TCP/UDP) is left to the full parse; the verdict is the same.
 */
static __always_inline bool mt_surely_unwanted(const struct mt_skb *s)
{
	struct mt_headers h = {};
	__u16 flags = 0;
	const unsigned char *l3;

	if (s->protocol != bpf_htons(ETH_P_IP))
		return false;
	l3 = s->network_header != (__u16)~0U ? s->head + s->network_header : s->data;
	if (!mt_parse_ip(l3, s->protocol, &h, &flags, MT_F_IPV6, MT_F_L4))
		return false;
	if (h.proto == IPPROTO_UDP_ && (h.dport == VXLAN_PORT || h.dport == 8472))
		return false;
	if (mt_port_marked(h.sport) || mt_port_marked(h.dport))
		return false;
	return !mt_headers_match(&h, false, true);
}

/*
 * Should this event be emitted? With a port/proto/host filter, a packet matches when its
 * headers (outer or inner) match, when its skb matched earlier, or when its tuple belongs
 * to a flow that matched earlier (replies, packets after NAT rewrote the port).
 * end_of_life (drop/consume) emits only skbs already followed: freeing is not a match.
 */
static __always_inline bool mt_want(struct mt_event *ev, bool end_of_life)
{
	__u8 one = 1;

	if (!end_of_life && !mt_netns_allowed(ev->netns))
		goto skip;
	if (!mt_cfg.port && !mt_cfg.proto && !mt_cfg.addr_prefix)
		return !(ev->flags & MT_F_NO_L3);

	if (!end_of_life && !mt_might_be_followed(ev)) {
		if (mt_static_match(ev)) {
			bpf_map_update_elem(&tracked_skbs, &ev->skb, &one, BPF_ANY);
			mt_remember_tuples(ev);
			return true;
		}
		goto skip;
	}

	if (bpf_map_lookup_elem(&tracked_skbs, &ev->skb)) {
		if (end_of_life) {
			bpf_map_delete_elem(&tracked_skbs, &ev->skb);
			return true;
		}
		mt_remember_tuples(ev);
		return true;
	}
	if (end_of_life)
		goto skip;
	if (mt_static_match(ev) || mt_tuple_tracked(ev)) {
		bpf_map_update_elem(&tracked_skbs, &ev->skb, &one, BPF_ANY);
		mt_remember_tuples(ev);
		return true;
	}
skip:
	mt_count(MT_CNT_FILTERED);
	return false;
}

static __always_inline void mt_submit(const struct mt_event *ev, const struct mt_where *where)
{
	struct mt_event *slot;
	__u64 avail;

	if (mt_cfg.snaplen) { /* .rodata: a dead branch for the verifier by default */
		mt_submit_payload(ev, where ? where->tc_ctx : NULL);
		return;
	}
	slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);
	if (!slot) {
		mt_count(MT_CNT_RING_FULL);
		return;
	}
	__builtin_memcpy(slot, ev, sizeof(*slot));
	/* the reservation is already counted as waiting; with its 8-byte header */
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(slot, mt_wakeup_flags(avail - sizeof(*slot) - 8, avail));
	mt_count(MT_CNT_EMITTED);
}

/* The namespace and device: netfilter knows them better than skb->dev (which is not set
 * yet on LOCAL_OUT). */
static __always_inline void mt_place(struct mt_event *ev, struct sk_buff *skb, struct mt_skb *s,
				     const struct mt_where *where)
{
	if (!where || !where->netns || !where->ifindex)
		mt_rd_dev(skb, s);
	ev->netns = where && where->netns ? where->netns : s->netns;
	ev->ifindex = where && where->ifindex ? where->ifindex : s->ifindex;
}

/* What only an emitted record needs: the clock, the CPU, the hook and the skb's fields. */
static __always_inline void mt_stamp(struct mt_event *ev, const struct mt_skb *s, __u8 hook, __u8 dir,
				     __u32 aux, __u32 drop_reason)
{
	ev->type = MT_EV_PACKET;
	ev->version = MT_EVENT_VERSION;
	ev->hook = hook;
	ev->dir = dir;
	ev->cpu = bpf_get_smp_processor_id();
	ev->ts_ns = bpf_ktime_get_ns();
	ev->len = s->len;
	ev->mark = s->mark;
	ev->drop_reason = drop_reason;
	ev->aux = aux;
}

/*
 * Filter before work: only the headers the filter judges by are read first; the clock,
 * the CPU, the device's namespace (a chain of pointers) and the rest are filled for the
 * packets that will be emitted. With a filter that matches little, most packets on a busy
 * host stop after a few loads. True when ev is a record to submit.
 */
static __always_inline bool mt_prepare(struct mt_event *ev, struct sk_buff *skb, __u8 hook, __u8 dir,
				       __u32 aux, __u32 drop_reason, const struct mt_where *where,
				       bool end_of_life)
{
	struct mt_skb s = {};

	/* Freeing is not a match: with a filter, only skbs already followed are worth
	 * parsing at their end, and most freed skbs on a busy host are not. */
	if (end_of_life && (mt_cfg.port || mt_cfg.proto || mt_cfg.addr_prefix)) {
		__u64 addr = (__u64)skb;

		if (!bpf_map_lookup_elem(&tracked_skbs, &addr))
			return false;
	}
	if (mt_rd_skb(skb, &s))
		return false;
	if (!end_of_life && (mt_cfg.port || mt_cfg.proto || mt_cfg.addr_prefix) && mt_surely_unwanted(&s)) {
		mt_count(MT_CNT_FILTERED);
		return false;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->skb = (__u64)skb;
	mt_parse(&s, ev);
	/* the namespace filter is the only part of the verdict that needs the device */
	if (mt_cfg.netns_count)
		mt_place(ev, skb, &s, where);
	if (!mt_want(ev, end_of_life))
		return false;
	if (!mt_cfg.netns_count)
		mt_place(ev, skb, &s, where);
	mt_stamp(ev, &s, hook, dir, aux, drop_reason);
	return true;
}

static __always_inline int mt_emit(struct sk_buff *skb, __u8 hook, __u8 dir, __u32 aux,
				   __u32 drop_reason, const struct mt_where *where, bool end_of_life)
{
	struct mt_event ev;

	if (mt_prepare(&ev, skb, hook, dir, aux, drop_reason, where, end_of_life))
		mt_submit(&ev, where);
	return 0;
}

#endif
