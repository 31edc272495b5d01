// A promise settled by work done inside a network namespace, on the libuv pool: the thread
// enters the namespace (NetnsVisit) and always comes back. A subclass does the work in
// InNetns(), setting failure_ when it fails, and shapes its answer in Result(); the
// promise is rejected with the typed failure of either the visit or the work.
#pragma once
#include <napi.h>
#include <string>
#include "errors.h"
#include "netns.h"

namespace mt {

class NetnsWorker : public Napi::AsyncWorker {
 public:
  NetnsWorker(Napi::Env env, std::string netns)
      : Napi::AsyncWorker(env), netns_(std::move(netns)), deferred_(Napi::Promise::Deferred::New(env)) {}

  // queues w and hands JS its promise
  static Napi::Value Start(NetnsWorker* w) {
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

  // the namespace path a binding was given as its first argument ("" if none)
  static std::string NetnsArg(const Napi::CallbackInfo& info) {
    return info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  }

 protected:
  virtual void InNetns() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  Failure failure_;

 private:
  void Execute() override {
    NetnsVisit visit(netns_);
    if (!visit.ok()) {
      failure_ = visit.failure();
      return;
    }
    InNetns();
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!failure_.ok()) deferred_.Reject(MakeError(env, failure_).Value());
    else deferred_.Resolve(Result(env));
  }

  std::string netns_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace mt
