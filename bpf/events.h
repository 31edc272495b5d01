/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The one record every side agrees on.
 *
 * The kernel side (the programs in bpf/) fills it, the addon (native/) moves batches of it
 * without looking inside, and src/events/ is the only code that reads its bytes.
 * Fixed-width fields, explicit padding, no implicit holes: test/unit/events-layout
 * pins every TypeScript offset to offsetof() below, compiled by the same compiler.
 *
 * Change the layout => bump MT_EVENT_VERSION (recordings carry it).
 */
#ifndef MESH_TRACE_EVENTS_H
#define MESH_TRACE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* 2: caplen at 52 (was padding, always 0 in version 1) and payload bytes after the record */
#define MT_EVENT_VERSION 2

/* the most bytes of a packet --snaplen can ask for (from its IP header on) */
#define MT_SNAPLEN_MAX 1500

/* type discriminant: the first byte of every record */
enum mt_event_type {
	MT_EV_PACKET = 1, /* a packet seen at a hook point */
};

/* where the packet was seen; src/events/hooks.ts mirrors this list */
enum mt_hook {
	MT_HOOK_TC_INGRESS = 1,    /* tcx / clsact ingress of a device */
	MT_HOOK_TC_EGRESS = 2,     /* tcx / clsact egress of a device */
	MT_HOOK_DEV_XMIT = 3,      /* tp_btf net_dev_start_xmit */
	MT_HOOK_DEV_RECV = 4,      /* tp_btf netif_receive_skb */
	MT_HOOK_DROP = 5,          /* tp_btf kfree_skb, with drop reason */
	MT_HOOK_CONSUME = 6,       /* tp_btf consume_skb: the end of a journey */
	MT_HOOK_NF = 7,            /* netfilter link; aux = hook number + priority */
	MT_HOOK_VETH_XMIT = 8,     /* fentry/kprobe veth_xmit */
	MT_HOOK_BR_HANDLE = 9,     /* fentry/kprobe br_handle_frame */
	MT_HOOK_BR_FORWARD = 10,   /* fentry/kprobe br_forward */
	MT_HOOK_VXLAN_XMIT = 11,   /* fentry/kprobe vxlan_xmit_one */
	MT_HOOK_VXLAN_RCV = 12,    /* fentry/kprobe vxlan_rcv */
	MT_HOOK_IPVS_SCHEDULE = 13,/* fentry/kprobe ip_vs_schedule */
	MT_HOOK_IPVS_NAT_XMIT = 14,/* fentry/kprobe ip_vs_nat_xmit */
};

enum mt_dir {
	MT_DIR_NONE = 0,
	MT_DIR_INGRESS = 1,
	MT_DIR_EGRESS = 2,
};

/* mt_event.flags */
#define MT_F_IPV6      0x0001 /* outer addresses are IPv6 */
#define MT_F_L4        0x0002 /* outer ports / TCP fields are valid */
#define MT_F_ENCAP     0x0004 /* VXLAN: vni and inner are valid */
#define MT_F_INNER_V6  0x0008 /* inner addresses are IPv6 */
#define MT_F_INNER_L4  0x0010 /* inner ports / TCP fields are valid */
#define MT_F_NO_L3     0x0020 /* not IP (ARP, ...): only skb/dev fields are valid */

/* the headers of one IP packet; IPv4 addresses sit in the first 4 bytes */
struct mt_headers {
	__u8 saddr[16];     /* 0 */
	__u8 daddr[16];     /* 16 */
	__u32 tcp_seq;      /* 32, host order */
	__u32 tcp_ack;      /* 36, host order */
	__u16 sport;        /* 40, host order */
	__u16 dport;        /* 42, host order */
	__u16 ip_id;        /* 44, host order (IPv4 only) */
	__u8 proto;         /* 46, IPPROTO_* */
	__u8 tcp_flags;     /* 47, FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 */
	__u16 ip_len;       /* 48, total length from the IP header */
	__u8 ttl;           /* 50 */
	__u8 _pad;          /* 51 */
}; /* 52 */

struct mt_event {
	__u8 type;          /* 0: enum mt_event_type */
	__u8 version;       /* 1: MT_EVENT_VERSION */
	__u8 hook;          /* 2: enum mt_hook */
	__u8 dir;           /* 3: enum mt_dir */
	__u16 cpu;          /* 4 */
	__u16 flags;        /* 6: MT_F_* */
	__u64 ts_ns;        /* 8: bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 skb;          /* 16: struct sk_buff address: the packet's identity */
	__u32 netns;        /* 24: network namespace inode */
	__u32 ifindex;      /* 28: device index in that namespace (0: none) */
	__u32 len;          /* 32: skb->len */
	__u32 mark;         /* 36: skb->mark */
	__u32 drop_reason;  /* 40: enum skb_drop_reason (MT_HOOK_DROP only) */
	__u32 vni;          /* 44: VXLAN network identifier (MT_F_ENCAP) */
	__u32 aux;          /* 48: hook specific: MT_HOOK_NF -> (hooknum << 16) | (u16)priority */
	__u32 caplen;       /* 52: packet bytes that follow this record in the ring (--snaplen) */
	struct mt_headers outer; /* 56 */
	struct mt_headers inner; /* 108: the encapsulated packet (MT_F_ENCAP) */
}; /* 160, then caplen bytes of the packet from its IP header on (0 unless --snaplen) */

/* counters[] indices: every place an event can be lost or skipped in the kernel */
enum mt_counter {
	MT_CNT_EMITTED = 0,      /* records submitted to the ring */
	MT_CNT_RING_FULL = 1,    /* bpf_ringbuf_reserve failed: the event is lost */
	MT_CNT_FILTERED = 2,     /* packets that did not match the filter */
	MT_CNT_PARSE_SHORT = 3,  /* headers that could not be read whole */
	MT_CNT__MAX = 4,
};

/*
 * The in-kernel filter, set in .rodata before load (pwru's way): a packet that does
 * not match costs the check and produces no event. Zero means "any".
 */
#define MT_MAX_NETNS 64
struct mt_filter {
	__u32 port;          /* matches sport or dport, outer or inner */
	__u32 proto;         /* IPPROTO_*; matches outer or inner */
	__u8 addr[16];       /* host or network address (IPv4 in the first 4 bytes) */
	__u32 addr_prefix;   /* 0: no address filter; 1..32 (IPv4) or 1..128 (IPv6) */
	__u32 addr_v6;       /* 1 when addr is IPv6 */
	__u32 netns_count;   /* 0: every namespace */
	__u32 netns[MT_MAX_NETNS];
	__u32 wakeup_bytes;  /* wake the reader once this much data waits in the ring */
	__u32 snaplen;       /* packet bytes to copy after each record (0: none; <= MT_SNAPLEN_MAX) */
};

#endif
