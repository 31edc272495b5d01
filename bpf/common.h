/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What every program of mesh-trace shares: types, kfuncs, the maps and the filter. */
#ifndef MESH_TRACE_COMMON_H
#define MESH_TRACE_COMMON_H

#include "vmlinux/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "events.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14
#define VXLAN_PORT 4789
#define NFPROTO_IPV4 2
#define NFPROTO_IPV6 10

/* kfuncs (kernel 6.2+/6.3+): BTF-typed reads that work under lockdown, where
 * bpf_probe_read_kernel does not. Weak, so that an older kernel (6.1) still loads the
 * object: libbpf leaves them unresolved there, and only the programs that call them fail,
 * which the ladder then replaces with their kfunc-free twins (probe_hooks.bpf.c). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/* The maps, declared once in maps.h: maps.bpf.c defines them, every other object refers
 * to them as extern and the static linker (bpftool gen object) joins them into one. */
struct mt_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 proto;
};
#ifndef MT_DEFINE_MAPS
#define MT_MAP extern
#else
#define MT_MAP
#endif
#include "maps.h"

/* Set in .rodata by the loader before load. */
MT_MAP const volatile struct mt_filter mt_cfg;

static __always_inline void mt_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

/*
 * Wake the reader only when a record carries the data waiting in the ring across a
 * multiple of mt_cfg.wakeup_bytes (before/after: bytes waiting without and with it), not
 * on every record while that much waits: a wakeup (irq_work, a self-IPI, then waking the
 * reader's thread) costs the packet's CPU microseconds here, and the records that follow
 * one until the reader has drained the ring asked for it again (bpf_stats: 198-210 ns a
 * run for reserve+copy+query+submit, 113-116 ns without the wakeups). The reader also polls
 * every few ms; a crossing missed while two CPUs reserve at once only waits for the next
 * multiple or that poll.
 */
static __always_inline __u64 mt_wakeup_flags(__u64 before, __u64 after)
{
	__u64 t = mt_cfg.wakeup_bytes;

	return t && after / t != before / t ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

#endif
