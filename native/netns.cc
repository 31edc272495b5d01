#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>

namespace mt {

NetnsVisit::NetnsVisit(const std::string& path) {
  if (path.empty()) return;  // empty: stay in the current namespace
  home_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_fd_ < 0) {
    failure_ = {errno, "setns", "cannot open this thread's own network namespace"};
    return;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    failure_ = {errno, "setns", "cannot open network namespace " + path + ": " + strerror(errno)};
    return;
  }
  if (setns(fd, CLONE_NEWNET) != 0) {
    failure_ = {errno, "setns", "cannot enter network namespace " + path + ": " + strerror(errno)};
    close(fd);
    return;
  }
  close(fd);
  entered_ = true;
}

NetnsVisit::~NetnsVisit() {
  if (entered_ && setns(home_fd_, CLONE_NEWNET) != 0) {
    // A thread stranded in a foreign namespace would attach later work to the wrong
    // devices; there is no safe way to continue.
    fprintf(stderr, "mesh-trace: cannot return to the original network namespace: %s\n",
            strerror(errno));
    abort();
  }
  if (home_fd_ >= 0) close(home_fd_);
}

}  // namespace mt
