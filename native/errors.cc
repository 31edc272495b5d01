#include "errors.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace mt {

namespace {
std::mutex g_log_mu;
std::string g_log;
constexpr size_t kMaxLog = 64 * 1024;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[2048];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return 0;
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.append(buf, std::min<size_t>(n, sizeof(buf) - 1));
  if (g_log.size() > kMaxLog) g_log.erase(0, g_log.size() - kMaxLog);
  // Mirror to stderr only when asked: libbpf's warnings are for developers.
  if (getenv("MESH_TRACE_DEBUG")) fputs(buf, stderr);
  return 0;
}
}  // namespace

void InstallLibbpfLogger() { libbpf_set_print(LibbpfPrint); }

void ClearLibbpfLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.clear();
}

std::string LibbpfLogTail(size_t max_bytes) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (g_log.size() <= max_bytes) return g_log;
  return g_log.substr(g_log.size() - max_bytes);
}

const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESTALE: return "ESTALE";
    case 524: return "ENOTSUPP";  // kernel-internal, leaks out of bpf()
    case ENOTTY: return "ENOTTY";
    case ELOOP: return "ELOOP";
    default: return "EUNKNOWN";
  }
}

Napi::Object FailureToObject(Napi::Env env, const Failure& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", false);
  o.Set("code", ErrnoName(f.err));
  o.Set("errno", f.err);
  o.Set("op", f.op);
  o.Set("message", f.message.empty() ? std::string(strerror(f.err)) : f.message);
  if (!f.log.empty()) o.Set("log", f.log);
  return o;
}

Napi::Error MakeError(Napi::Env env, const Failure& f) {
  std::string msg = f.op + ": " + (f.message.empty() ? std::string(strerror(f.err)) : f.message);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", ErrnoName(f.err));
  e.Set("errno", Napi::Number::New(env, f.err));
  e.Set("op", f.op);
  if (!f.log.empty()) e.Set("log", f.log);
  e.Set("native", true);
  return e;
}

}  // namespace mt
