#include "links.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace mt {

namespace {
constexpr uint32_t kBpfTcxIngress = 46;  // enum bpf_attach_type, kernel 6.6
constexpr uint32_t kBpfTcxEgress = 47;
constexpr uint32_t kBpfNetfilter = 45;   // kernel 6.4

// The prefix of union bpf_attr's link_create that netfilter links use (uapi layout).
struct LinkCreateNetfilter {
  uint32_t prog_fd;
  uint32_t target_fd;
  uint32_t attach_type;
  uint32_t flags;
  uint32_t pf;
  uint32_t hooknum;
  int32_t priority;
  uint32_t nf_flags;
  uint8_t rest[64];  // the kernel requires the unused tail of bpf_attr to be zero
};
}  // namespace

int AttachTcx(int prog_fd, int ifindex, TcDir dir, Failure* f) {
  uint32_t type = dir == TcDir::kIngress ? kBpfTcxIngress : kBpfTcxEgress;
  int fd = bpf_link_create(prog_fd, ifindex, static_cast<enum bpf_attach_type>(type), nullptr);
  if (fd < 0) {
    int err = errno ? errno : -fd;
    *f = {err, "attach tcx", std::string("tcx link on ifindex ") + std::to_string(ifindex) + ": " + strerror(err)};
    return -1;
  }
  return fd;
}

int AttachNetfilter(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority, Failure* f) {
  LinkCreateNetfilter attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_fd = prog_fd;
  attr.attach_type = kBpfNetfilter;
  attr.pf = pf;
  attr.hooknum = hooknum;
  attr.priority = priority;
  int fd = static_cast<int>(syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr)));
  if (fd < 0) {
    int err = errno;
    *f = {err, "attach netfilter",
          "netfilter link pf " + std::to_string(pf) + " hook " + std::to_string(hooknum) +
              " priority " + std::to_string(priority) + ": " + strerror(err)};
    return -1;
  }
  return fd;
}

bool AttachClsact(int prog_fd, int ifindex, TcDir dir, ClsactFilter* out, Failure* f) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                      .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST) {
    *f = {-err, "attach clsact", std::string("clsact qdisc on ifindex ") + std::to_string(ifindex) + ": " + strerror(-err)};
    return false;
  }
  out->created_qdisc = err == 0;
  hook.attach_point = dir == TcDir::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE,
                      .handle = kClsactHandle, .priority = kClsactPriority);
  err = bpf_tc_attach(&hook, &opts);
  if (err) {
    *f = {-err, "attach clsact", std::string("tc filter on ifindex ") + std::to_string(ifindex) + ": " + strerror(-err)};
    return false;
  }
  out->ifindex = ifindex;
  out->dir = dir;
  out->handle = kClsactHandle;
  out->priority = kClsactPriority;
  return true;
}

bool DetachClsact(const ClsactFilter& filter, Failure* f) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = filter.ifindex,
                      .attach_point = filter.dir == TcDir::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = filter.handle, .priority = filter.priority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
    *f = {-err, "detach clsact", strerror(-err)};
    return false;
  }
  return true;
}

}  // namespace mt
