// Entering a network namespace on the calling thread, and always coming back.
// setns(CLONE_NEWNET) is per thread, so a worker thread can visit a namespace to attach a
// tcx/netfilter link or open a netlink socket there while the JS thread stays home.
#pragma once
#include <string>
#include "errors.h"

namespace mt {

class NetnsVisit {
 public:
  // path: anything setns() accepts (/proc/PID/ns/net, /run/netns/NAME, a docker netns file)
  explicit NetnsVisit(const std::string& path);
  ~NetnsVisit();
  NetnsVisit(const NetnsVisit&) = delete;
  NetnsVisit& operator=(const NetnsVisit&) = delete;

  bool ok() const { return failure_.ok(); }
  const Failure& failure() const { return failure_; }

 private:
  int home_fd_ = -1;
  bool entered_ = false;
  Failure failure_;
};

}  // namespace mt
