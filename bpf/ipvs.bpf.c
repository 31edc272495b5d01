/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * IPVS, where the ip_vs module is loaded (Docker's routing mesh in ingress_sbox and the
 * service VIPs): scheduling a new connection and the NAT (masquerade) transmit.
 * ip_vs types live in the module's BTF, not vmlinux: the ___mt flavours below carry only
 * the fields read, and CO-RE finds them in the module at load time.
 *
 * MT_HOOK_IPVS_SCHEDULE: aux = service fwmark (0 for an address:port service).
 * MT_HOOK_IPVS_NAT_XMIT: aux = fwmark; inner.saddr/sport = virtual address/port,
 *   inner.daddr/dport = the real server the connection was given; outer = the packet
 *   before the masquerade rewrite.
 */
#define MT_READER_PROBE
#include "emit.h"

union nf_inet_addr___mt {
	__u32 all[4];
} __attribute__((preserve_access_index));

struct ip_vs_service___mt {
	__u32 fwmark;
} __attribute__((preserve_access_index));

struct ip_vs_conn___mt {
	__be16 dport;
	__be16 vport;
	__u16 af;
	union nf_inet_addr___mt vaddr;
	union nf_inet_addr___mt daddr;
	__u32 fwmark;
} __attribute__((preserve_access_index));

static __always_inline int mt_ipvs_schedule(struct ip_vs_service___mt *svc, struct sk_buff *skb)
{
	__u32 fwmark = BPF_CORE_READ(svc, fwmark);

	return mt_emit(skb, MT_HOOK_IPVS_SCHEDULE, MT_DIR_NONE, fwmark, 0, NULL, false);
}
SEC("fentry/ip_vs_schedule")
int BPF_PROG(mt_fentry_ip_vs_schedule, struct ip_vs_service___mt *svc, struct sk_buff *skb)
{
	return mt_ipvs_schedule(svc, skb);
}
SEC("kprobe/ip_vs_schedule")
int BPF_KPROBE(mt_kprobe_ip_vs_schedule, struct ip_vs_service___mt *svc, struct sk_buff *skb)
{
	return mt_ipvs_schedule(svc, skb);
}

static __always_inline int mt_ipvs_nat_xmit(struct sk_buff *skb, struct ip_vs_conn___mt *cp)
{
	struct mt_event ev;
	__u32 fwmark = bpf_core_field_exists(cp->fwmark) ? BPF_CORE_READ(cp, fwmark) : 0;

	if (!mt_prepare(&ev, skb, MT_HOOK_IPVS_NAT_XMIT, MT_DIR_NONE, fwmark, 0, NULL, false))
		return 0;
	/* the connection's virtual service and chosen real server, after the outer parse */
	BPF_CORE_READ_INTO(&ev.inner.saddr, cp, vaddr);
	BPF_CORE_READ_INTO(&ev.inner.daddr, cp, daddr);
	ev.inner.sport = bpf_ntohs(BPF_CORE_READ(cp, vport));
	ev.inner.dport = bpf_ntohs(BPF_CORE_READ(cp, dport));
	ev.inner.proto = ev.outer.proto;
	mt_submit(&ev, NULL);
	return 0;
}
SEC("fentry/ip_vs_nat_xmit")
int BPF_PROG(mt_fentry_ip_vs_nat_xmit, struct sk_buff *skb, struct ip_vs_conn___mt *cp)
{
	return mt_ipvs_nat_xmit(skb, cp);
}
SEC("kprobe/ip_vs_nat_xmit")
int BPF_KPROBE(mt_kprobe_ip_vs_nat_xmit, struct sk_buff *skb, struct ip_vs_conn___mt *cp)
{
	return mt_ipvs_nat_xmit(skb, cp);
}
