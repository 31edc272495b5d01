// A tracing session: one loaded BPF object (programs chosen by the TypeScript ladder),
// its links in any namespace, one ring buffer drained by a native poll thread that hands
// JavaScript whole batches of records, and the counters of everything lost on the way.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "links.h"

struct mesh_trace;
struct ring_buffer;
struct bpf_link;

namespace mt {

struct LinkEntry {
  enum class Kind { kLibbpf, kFd, kClsact } kind = Kind::kFd;
  struct bpf_link* link = nullptr;  // kLibbpf
  int fd = -1;                      // kFd
  ClsactFilter clsact;              // kClsact
  std::string netns;                // where it lives (for clsact removal)
};

struct Batch {
  std::vector<uint8_t> bytes;  // records of exactly record_size_ bytes
  // --snaplen: the packet bytes that followed each record in the ring, in record order
  // (each record's caplen says how many are its own); empty without --snaplen
  std::vector<uint8_t> payload;
  uint32_t records = 0;
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Session(const Napi::CallbackInfo& info);
  ~Session() override;

  // Called from the env cleanup hook as well: idempotent.
  void Shutdown();

  // Used by the attach worker thread.
  int ProgramFd(const std::string& name, Failure* f);
  uint32_t AddLink(LinkEntry entry);

  // Counted on the JS thread after each batch callback returns (bench pacing).
  std::atomic<uint64_t> delivered_records{0};

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value AttachTracing(const Napi::CallbackInfo& info);
  Napi::Value AttachBatch(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value LinkCount(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value BenchProduce(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void PollLoop();
  static int OnRecord(void* ctx, void* data, size_t size);
  void Flush();
  void DestroyLink(LinkEntry& e);
  void DestroyLinks(std::map<uint32_t, LinkEntry>& links);
  void ReadKernelCounters();
  uint64_t kernel_counters_[8] = {};

  struct mesh_trace* skel_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  bool closed_ = false;
  bool started_ = false;

  napi_threadsafe_function tsfn_ = nullptr;

  // batching (poll thread only)
  Batch* batch_ = nullptr;
  uint64_t batch_started_ns_ = 0;
  uint32_t batch_records_ = 1024;
  uint32_t flush_ms_ = 4;
  uint32_t record_size_ = 0;

  // user-space loss counters: everything dropped between ring and JS is counted
  std::atomic<uint64_t> read_records_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> queue_full_records_{0};
  std::atomic<uint64_t> short_records_{0};

  std::mutex links_mu_;
  std::map<uint32_t, LinkEntry> links_;
  uint32_t next_link_id_ = 1;
};

// Static helpers exported to JS.
Napi::Value ProbeProgram(const Napi::CallbackInfo& info);
Napi::Value ListLinks(const Napi::CallbackInfo& info);
Napi::Value RecordLayout(const Napi::CallbackInfo& info);
Napi::Value RemoveClsact(const Napi::CallbackInfo& info);
void CloseAllSessions();

}  // namespace mt
