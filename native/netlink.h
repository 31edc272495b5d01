// The devices of a namespace, from rtnetlink: names, kinds and masters without spawning
// `ip` once per namespace (attaching to 1,000 veths has to take well under two seconds).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "errors.h"

namespace mt {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;   // IFLA_INFO_KIND: veth, bridge, vxlan, ...; "" for physical/loopback
  int master = 0;     // bridge (or bond) this device is enslaved to
  bool up = false;
  bool loopback = false;
};

// A NETLINK_ROUTE socket in the calling thread's current namespace.
int OpenRtnetlink(uint32_t groups, Failure* f);
bool DumpLinks(int fd, std::vector<LinkInfo>* out, Failure* f);

enum class LinkChange { kNew, kDel };
// Parses every RTM_NEWLINK/RTM_DELLINK in one datagram read from a subscribed socket.
void ParseLinkMessages(const char* buf, size_t len,
                       std::vector<std::pair<LinkChange, LinkInfo>>* out);

}  // namespace mt
