/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The one definition of the maps and the filter that common.h declares. */
#define MT_DEFINE_MAPS
#include "common.h"
#include "payload.h"

const volatile struct mt_filter mt_cfg = {};

char LICENSE[] SEC("license") = "Dual BSD/GPL";
