// New and vanished devices in any number of namespaces, as they happen: one netlink socket
// per namespace (a socket belongs to the namespace it was opened in), all in one epoll set
// on one native thread, delivered to JS in batches.
#pragma once
#include <napi.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace mt {

class LinkWatcher : public Napi::ObjectWrap<LinkWatcher> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit LinkWatcher(const Napi::CallbackInfo& info);
  ~LinkWatcher() override;
  void Shutdown();

 private:
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Loop();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool closed_ = false;
  std::mutex mu_;
  std::map<uint32_t, int> sockets_;  // key -> netlink fd
  napi_threadsafe_function tsfn_ = nullptr;
};

}  // namespace mt
