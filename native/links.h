// Attaching one program at one place, in the namespace the calling thread is in.
// tcx and netfilter links are owned by their fd: closing it (or the process dying)
// detaches them. Legacy clsact filters are not, so they are recorded for removal.
#pragma once
#include <cstdint>
#include <string>
#include "errors.h"

namespace mt {

enum class TcDir { kIngress, kEgress };

// kernel 6.6+: bpf_link_create(BPF_TCX_INGRESS/EGRESS). Returns the link fd or -1.
int AttachTcx(int prog_fd, int ifindex, TcDir dir, Failure* f);

// kernel 6.4+: BPF_LINK_CREATE with link_create.netfilter, which libbpf 1.1's opts lack.
int AttachNetfilter(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority, Failure* f);

// Legacy rung: a clsact qdisc and a direct-action filter, with a recognizable handle and
// priority so a later start can find and remove filters a killed process left behind.
constexpr uint32_t kClsactHandle = 0x6d74;  // "mt"
constexpr uint32_t kClsactPriority = 0xc0de;
struct ClsactFilter {
  int ifindex = 0;
  TcDir dir = TcDir::kIngress;
  uint32_t handle = 0;
  uint32_t priority = 0;
  bool created_qdisc = false;
};
bool AttachClsact(int prog_fd, int ifindex, TcDir dir, ClsactFilter* out, Failure* f);
bool DetachClsact(const ClsactFilter& filter, Failure* f);

}  // namespace mt
