/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The tc and tp_btf hooks again, without kfuncs: every read through bpf_probe_read_kernel.
 * For kernels older than 6.3 (Debian 12's 6.1), where bpf_cast_to_kern_ctx and
 * bpf_rdonly_cast do not exist, so the programs of btf_hooks.bpf.c cannot load. Programs
 * are named "<name>_pr"; the ladder tries these only when the kfunc ones fail. Locked-down
 * kernels refuse them (bpf_probe_read_kernel is off there), which is why they are the
 * second choice and not the only one. Netfilter programs need no twin: netfilter links
 * (6.4+) come after the kfuncs.
 */
#define MT_READER_PROBE
#include "emit.h"

#include "hooks/tc.h"
#include "hooks/tracepoints.h"
