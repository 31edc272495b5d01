/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The hooks that read through BTF (tc, tracepoints, netfilter), compiled as one object:
 * libbpf 1.1's static linker fails to join two objects that both declare the same kfunc
 * extern (bpf_rdonly_cast), so every kfunc user lives in this one translation unit.
 */
#define MT_READER_BTF
#include "emit.h"

#include "hooks/tc.h"
#include "hooks/tracepoints.h"
#include "hooks/netfilter.h"
