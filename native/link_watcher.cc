#include "link_watcher.h"

#include <linux/rtnetlink.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "errors.h"
#include "netlink.h"
#include "netns.h"

namespace mt {

namespace {
struct LinkEvent {
  uint32_t key;
  LinkChange change;
  LinkInfo info;
};
using Events = std::vector<LinkEvent>;

void CallJs(Napi::Env env, Napi::Function fn, void*, Events* evs) {
  if (env == nullptr || fn.IsEmpty()) {
    delete evs;
    return;
  }
  Napi::Array out = Napi::Array::New(env, evs->size());
  for (size_t i = 0; i < evs->size(); i++) {
    const LinkEvent& e = (*evs)[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("key", e.key);
    o.Set("event", e.change == LinkChange::kNew ? "new" : "del");
    o.Set("ifindex", e.info.ifindex);
    o.Set("name", e.info.name);
    o.Set("kind", e.info.kind);
    o.Set("master", e.info.master);
    o.Set("up", e.info.up);
    o.Set("loopback", e.info.loopback);
    out.Set(i, o);
  }
  delete evs;
  fn.Call({out});
}
using WatchTsfn = Napi::TypedThreadSafeFunction<void, Events, CallJs>;
}  // namespace

Napi::Function LinkWatcher::Init(Napi::Env env) {
  return DefineClass(env, "LinkWatcher",
                     {InstanceMethod("add", &LinkWatcher::Add), InstanceMethod("remove", &LinkWatcher::Remove),
                      InstanceMethod("close", &LinkWatcher::Close)});
}

// new LinkWatcher(onEvents([{key, event, ifindex, name, kind, master, up}]))
LinkWatcher::LinkWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkWatcher>(info) {
  Napi::Env env = info.Env();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  WatchTsfn t = WatchTsfn::New(env, info[0].As<Napi::Function>(), "mesh-trace-links", 0, 1);
  tsfn_ = static_cast<napi_threadsafe_function>(t);
  // An idle watcher must not keep the process alive.
  napi_unref_threadsafe_function(env, tsfn_);
  thread_ = std::thread([this] { Loop(); });
}

LinkWatcher::~LinkWatcher() { Shutdown(); }

// add(key, netnsPath): subscribe to link changes in that namespace.
Napi::Value LinkWatcher::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t key = info[0].As<Napi::Number>().Uint32Value();
  std::string path = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  Failure f;
  int fd;
  {
    NetnsVisit visit(path);
    if (!visit.ok()) {
      MakeError(env, visit.failure()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    fd = OpenRtnetlink(RTMGRP_LINK, &f);
  }
  if (fd < 0) {
    MakeError(env, f).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(key);
  if (it != sockets_.end()) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second, nullptr);
    close(it->second);
  }
  sockets_[key] = fd;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return env.Undefined();
}

Napi::Value LinkWatcher::Remove(const Napi::CallbackInfo& info) {
  uint32_t key = info[0].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(key);
  if (it != sockets_.end()) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second, nullptr);
    close(it->second);
    sockets_.erase(it);
  }
  return info.Env().Undefined();
}

Napi::Value LinkWatcher::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

void LinkWatcher::Loop() {
  std::vector<char> buf(64 * 1024);
  epoll_event evs[32];
  while (!stop_) {
    int n = epoll_wait(epoll_fd_, evs, 32, 500);
    if (n < 0 && errno != EINTR) break;
    auto* out = new Events();
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == UINT64_MAX) continue;
      uint32_t key = static_cast<uint32_t>(evs[i].data.u64);
      int fd;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = sockets_.find(key);
        if (it == sockets_.end()) continue;
        fd = it->second;
      }
      for (;;) {
        ssize_t len = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (len <= 0) break;
        std::vector<std::pair<LinkChange, LinkInfo>> changes;
        ParseLinkMessages(buf.data(), static_cast<size_t>(len), &changes);
        for (auto& c : changes) out->push_back({key, c.first, std::move(c.second)});
      }
    }
    if (out->empty() || napi_call_threadsafe_function(tsfn_, out, napi_tsfn_nonblocking) != napi_ok) delete out;
  }
}

void LinkWatcher::Shutdown() {
  if (closed_) return;
  closed_ = true;
  stop_ = true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) { /* the 500 ms timeout ends the loop anyway */ }
  if (thread_.joinable()) thread_.join();
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : sockets_) close(kv.second);
  sockets_.clear();
  close(epoll_fd_);
  close(wake_fd_);
}

}  // namespace mt
