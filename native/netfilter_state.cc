#include "netfilter_state.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "errors.h"
#include "netns_worker.h"

namespace mt {

namespace {

// nftables tables of every family (iptables-nft's tables are among them). -1: unknown.
int CountNftTables(Failure* f) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    // no nfnetlink in this kernel: nothing can hold nftables rules
    if (errno == EPROTONOSUPPORT) return 0;
    *f = {errno, "netlink", std::string("cannot open a netfilter netlink socket: ") + strerror(errno)};
    return -1;
  }
  struct {
    nlmsghdr nh;
    nfgenmsg nfg;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
  req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.nfg.nfgen_family = AF_UNSPEC;
  req.nfg.version = NFNETLINK_V0;
  int tables = 0;
  if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
    *f = {errno, "netlink", std::string("nftables table dump request failed: ") + strerror(errno)};
    close(fd);
    return -1;
  }
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *f = {errno, "netlink", std::string("nftables table dump failed: ") + strerror(errno)};
      close(fd);
      return -1;
    }
    int len = static_cast<int>(n);
    for (const nlmsghdr* nh = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) {
        close(fd);
        return tables;
      }
      if (nh->nlmsg_type == NLMSG_ERROR) {
        int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(nh))->error;
        close(fd);
        if (err == 0) return tables;
        // nf_tables not loaded: no table can exist
        if (err == EOPNOTSUPP || err == ENOENT) return 0;
        *f = {err, "netlink", std::string("nftables table dump failed: ") + strerror(err)};
        return -1;
      }
      if (nh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) tables++;
    }
  }
}

// The lines of a file of this thread's namespace; none when it does not exist (its module
// is not loaded). /proc/thread-self, since /proc/self/net names the main thread's namespace.
std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

class NetfilterStateWorker : public NetnsWorker {
 public:
  using NetnsWorker::NetnsWorker;

 protected:
  void InNetns() override {
    nft_tables_ = CountNftTables(&failure_);
    if (nft_tables_ < 0) return;
    for (const char* f : {"/proc/thread-self/net/ip_tables_names", "/proc/thread-self/net/ip6_tables_names"})
      for (auto& l : Lines(f)) legacy_.push_back(l);
    for (auto& l : Lines("/proc/thread-self/net/ip_vs")) {
      // services start with their protocol; the header and "  -> real server" lines do not
      if (l.rfind("TCP ", 0) == 0 || l.rfind("UDP ", 0) == 0 || l.rfind("SCTP ", 0) == 0 || l.rfind("FWM ", 0) == 0) ipvs_++;
    }
    // per namespace since 5.3; absent without br_netfilter
    for (const char* f : {"/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"}) {
      auto v = Lines(f);
      if (!v.empty() && v[0] == "1") bridge_nf_call_ = true;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("nftTables", nft_tables_);
    Napi::Array legacy = Napi::Array::New(env, legacy_.size());
    for (size_t i = 0; i < legacy_.size(); i++) legacy.Set(i, legacy_[i]);
    o.Set("legacyTables", legacy);
    o.Set("ipvsServices", ipvs_);
    o.Set("bridgeNfCall", bridge_nf_call_);
    return o;
  }

 private:
  int nft_tables_ = 0;
  std::vector<std::string> legacy_;
  int ipvs_ = 0;
  bool bridge_nf_call_ = false;
};

}  // namespace

Napi::Value NetfilterState(const Napi::CallbackInfo& info) {
  return NetnsWorker::Start(new NetfilterStateWorker(info.Env(), NetnsWorker::NetnsArg(info)));
}

}  // namespace mt
