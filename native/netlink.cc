#include "netlink.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace mt {

int OpenRtnetlink(uint32_t groups, Failure* f) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    *f = {errno, "netlink", std::string("cannot open a netlink socket: ") + strerror(errno)};
    return -1;
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    *f = {errno, "netlink", std::string("cannot bind a netlink socket: ") + strerror(errno)};
    close(fd);
    return -1;
  }
  int rcvbuf = 4 << 20;  // bursts of new devices (a swarm scaling up) must not overflow
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  return fd;
}

static bool ParseLink(const nlmsghdr* nh, LinkInfo* li) {
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(nh));
  li->ifindex = ifi->ifi_index;
  li->up = ifi->ifi_flags & IFF_UP;
  li->loopback = ifi->ifi_flags & IFF_LOOPBACK;
  int len = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(sizeof(*ifi));
  for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case IFLA_IFNAME:
        li->name.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
        break;
      case IFLA_MASTER:
        li->master = *static_cast<const int*>(RTA_DATA(a));
        break;
      case IFLA_LINKINFO: {
        int ilen = RTA_PAYLOAD(a);
        for (const rtattr* b = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen)) {
          if (b->rta_type == IFLA_INFO_KIND)
            li->kind.assign(static_cast<const char*>(RTA_DATA(b)), strnlen(static_cast<const char*>(RTA_DATA(b)), RTA_PAYLOAD(b)));
        }
        break;
      }
      default:
        break;
    }
  }
  return true;
}

bool DumpLinks(int fd, std::vector<LinkInfo>* out, Failure* f) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
    *f = {errno, "netlink", std::string("link dump request failed: ") + strerror(errno)};
    return false;
  }
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *f = {errno, "netlink", std::string("link dump failed: ") + strerror(errno)};
      return false;
    }
    int len = static_cast<int>(n);
    for (const nlmsghdr* nh = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) return true;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nh));
        *f = {-e->error, "netlink", std::string("link dump failed: ") + strerror(-e->error)};
        return false;
      }
      if (nh->nlmsg_type != RTM_NEWLINK) continue;
      LinkInfo li;
      ParseLink(nh, &li);
      out->push_back(std::move(li));
    }
  }
}

void ParseLinkMessages(const char* buf, size_t n, std::vector<std::pair<LinkChange, LinkInfo>>* out) {
  int len = static_cast<int>(n);
  for (const nlmsghdr* nh = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
    if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) continue;
    LinkInfo li;
    ParseLink(nh, &li);
    out->emplace_back(nh->nlmsg_type == RTM_NEWLINK ? LinkChange::kNew : LinkChange::kDel, std::move(li));
  }
}

}  // namespace mt
