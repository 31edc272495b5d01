// The native addon: moves bytes between the kernel and JavaScript and never interprets
// them (src/events/ is the only reader of records).
#include <napi.h>

#include "errors.h"
#include "link_watcher.h"
#include "netfilter_state.h"
#include "session.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mt::InstallLibbpfLogger();
  exports.Set("Session", mt::Session::Init(env));
  exports.Set("LinkWatcher", mt::LinkWatcher::Init(env));
  exports.Set("probeProgram", Napi::Function::New(env, mt::ProbeProgram));
  exports.Set("listLinks", Napi::Function::New(env, mt::ListLinks));
  exports.Set("netfilterState", Napi::Function::New(env, mt::NetfilterState));
  exports.Set("recordLayout", Napi::Function::New(env, mt::RecordLayout));
  exports.Set("removeClsact", Napi::Function::New(env, mt::RemoveClsact));
  // When the environment goes away (process exit, worker end), every session detaches.
  napi_add_env_cleanup_hook(env, [](void*) { mt::CloseAllSessions(); }, nullptr);
  return exports;
}

}  // namespace

NODE_API_MODULE(mesh_trace, Init)
