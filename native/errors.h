// Native failures become JS Errors carrying what TypeScript needs to say one clear
// sentence: code (symbolic errno), errno, the operation, and the tail of libbpf's log
// (where the verifier explains a rejection). src/probe/errors.ts turns them into
// MeshTraceError.
#pragma once
#include <napi.h>
#include <string>

namespace mt {

// libbpf prints (verifier logs included) go into a bounded per-process buffer so a
// failed load can hand its tail to the error.
void InstallLibbpfLogger();
void ClearLibbpfLog();
std::string LibbpfLogTail(size_t max_bytes = 4096);

struct Failure {
  int err = 0;            // positive errno
  std::string op;         // e.g. "load", "attach tcx", "setns"
  std::string message;    // one sentence, no trailing period needed
  std::string log;        // libbpf / verifier log tail
  bool ok() const { return err == 0 && message.empty(); }
};

Napi::Error MakeError(Napi::Env env, const Failure& f);
Napi::Object FailureToObject(Napi::Env env, const Failure& f);
const char* ErrnoName(int err);

}  // namespace mt
