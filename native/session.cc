#include "session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "../bpf/events.h"
#include "mesh_trace.skel.h"
#include "netlink.h"
#include "netns.h"
#include "netns_worker.h"

namespace mt {

namespace {

constexpr uint32_t kNetfilterProgType = 32;    // BPF_PROG_TYPE_NETFILTER, kernel 6.4
constexpr uint32_t kNetfilterAttachType = 45;  // BPF_NETFILTER

std::mutex g_sessions_mu;
std::set<Session*> g_sessions;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

// libbpf 1.1 predates netfilter programs: give them their type by section name.
void FixProgramTypes(struct bpf_object* obj) {
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (strcmp(bpf_program__section_name(prog), "netfilter") == 0) {
      bpf_program__set_type(prog, static_cast<enum bpf_prog_type>(kNetfilterProgType));
      bpf_program__set_expected_attach_type(prog, static_cast<enum bpf_attach_type>(kNetfilterAttachType));
    }
  }
}

// Open the embedded object with exactly `wanted` programs to be loaded.
struct mesh_trace* OpenObject(const std::set<std::string>& wanted, uint32_t ring_bytes,
                              const void* rodata, size_t rodata_len, Failure* f) {
  ClearLibbpfLog();
  struct mesh_trace* skel = mesh_trace__open();
  if (!skel) {
    *f = {errno ? errno : EINVAL, "open", "cannot open the embedded BPF object", LibbpfLogTail()};
    return nullptr;
  }
  FixProgramTypes(skel->obj);
  std::set<std::string> missing = wanted;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    bool on = wanted.count(bpf_program__name(prog)) > 0;
    missing.erase(bpf_program__name(prog));
    bpf_program__set_autoload(prog, on);
  }
  if (!missing.empty()) {
    *f = {ENOENT, "open", "no BPF program named " + *missing.begin()};
    mesh_trace__destroy(skel);
    return nullptr;
  }
  if (rodata) {
    if (rodata_len != sizeof(skel->rodata->mt_cfg)) {
      *f = {EINVAL, "open", "filter is " + std::to_string(rodata_len) + " bytes, the object expects " +
                                std::to_string(sizeof(skel->rodata->mt_cfg))};
      mesh_trace__destroy(skel);
      return nullptr;
    }
    memcpy(const_cast<struct mt_filter*>(&skel->rodata->mt_cfg), rodata, rodata_len);
  }
  int err = bpf_map__set_max_entries(skel->maps.events, ring_bytes);
  if (err) {
    *f = {-err, "open", "ring buffer size " + std::to_string(ring_bytes) + " is not a power of two of pages"};
    mesh_trace__destroy(skel);
    return nullptr;
  }
  ClearLibbpfLog();
  err = mesh_trace__load(skel);
  if (err) {
    int e = errno ? errno : -err;
    if (err < 0 && -err < 4096) e = -err;
    *f = {e, "load", "the kernel refused to load the BPF programs", LibbpfLogTail()};
    mesh_trace__destroy(skel);
    return nullptr;
  }
  return skel;
}

std::set<std::string> StringSet(const Napi::Value& v) {
  std::set<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.insert(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

struct BatchContext {
  Session* session;
  Napi::FunctionReference on_end;  // called once every queued batch was delivered
};

void CallJs(Napi::Env env, Napi::Function fn, BatchContext* ctx, Batch* batch) {
  if (env == nullptr || fn.IsEmpty()) {
    delete batch;
    return;
  }
  // The batch's bytes become the Buffer's memory: no copy on the JS side. The payload
  // buffer (--snaplen) views the same Batch, which the records' Buffer owns; the payload
  // Buffer keeps the records' Buffer alive through a reference of its own.
  uint32_t records = batch->records;
  auto buf = Napi::Buffer<uint8_t>::New(env, batch->bytes.data(), batch->bytes.size(),
                                        [](Napi::Env, uint8_t*, Batch* b) { delete b; }, batch);
  if (batch->payload.empty()) {
    fn.Call({buf, Napi::Number::New(env, records)});
  } else {
    auto* owner = new Napi::ObjectReference(Napi::Persistent(buf.As<Napi::Object>()));
    auto payload = Napi::Buffer<uint8_t>::New(env, batch->payload.data(), batch->payload.size(),
                                              [](Napi::Env, uint8_t*, Napi::ObjectReference* r) { delete r; }, owner);
    fn.Call({buf, Napi::Number::New(env, records), payload});
  }
  ctx->session->delivered_records += records;
}

using BatchTsfn = Napi::TypedThreadSafeFunction<BatchContext, Batch, CallJs>;

}  // namespace

// ---------------------------------------------------------------------------------------

Napi::Function Session::Init(Napi::Env env) {
  return DefineClass(env, "Session",
                     {InstanceMethod("programs", &Session::Programs),
                      InstanceMethod("attachTracing", &Session::AttachTracing),
                      InstanceMethod("attachBatch", &Session::AttachBatch),
                      InstanceMethod("detach", &Session::Detach),
                      InstanceMethod("linkCount", &Session::LinkCount),
                      InstanceMethod("start", &Session::Start),
                      InstanceMethod("counters", &Session::Counters),
                      InstanceMethod("benchProduce", &Session::BenchProduce),
                      InstanceMethod("close", &Session::Close)});
}

// new Session({ programs, rodata, ringBytes, batchRecords, flushMs })
Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  std::set<std::string> wanted = StringSet(opts.Get("programs"));
  uint32_t ring_bytes = opts.Has("ringBytes") ? opts.Get("ringBytes").As<Napi::Number>().Uint32Value() : (16u << 20);
  if (opts.Has("batchRecords")) batch_records_ = std::max(1u, opts.Get("batchRecords").As<Napi::Number>().Uint32Value());
  if (opts.Has("flushMs")) flush_ms_ = std::max(1u, opts.Get("flushMs").As<Napi::Number>().Uint32Value());
  record_size_ = sizeof(struct mt_event);

  const void* rodata = nullptr;
  size_t rodata_len = 0;
  Napi::Value rv = opts.Get("rodata");
  if (rv.IsBuffer()) {
    rodata = rv.As<Napi::Buffer<uint8_t>>().Data();
    rodata_len = rv.As<Napi::Buffer<uint8_t>>().Length();
  }
  Failure f;
  skel_ = OpenObject(wanted, ring_bytes, rodata, rodata_len, &f);
  if (!skel_) {
    MakeError(env, f).ThrowAsJavaScriptException();
    closed_ = true;
    return;
  }
  std::lock_guard<std::mutex> lock(g_sessions_mu);
  g_sessions.insert(this);
}

Session::~Session() { Shutdown(); }

int Session::ProgramFd(const std::string& name, Failure* f) {
  if (!skel_) {
    *f = {EBADF, "attach", "the session is closed"};
    return -1;
  }
  struct bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, name.c_str());
  int fd = prog ? bpf_program__fd(prog) : -1;
  if (fd < 0) *f = {ENOENT, "attach", "program " + name + " is not loaded in this session"};
  return fd;
}

uint32_t Session::AddLink(LinkEntry entry) {
  std::lock_guard<std::mutex> lock(links_mu_);
  uint32_t id = next_link_id_++;
  links_.emplace(id, std::move(entry));
  return id;
}

Napi::Value Session::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!skel_) return out;
  struct bpf_program* prog;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, skel_->obj) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(prog));
    o.Set("section", bpf_program__section_name(prog));
    o.Set("loaded", bpf_program__fd(prog) >= 0);
    out.Set(i++, o);
  }
  return out;
}

// attachTracing(name): tp_btf, fentry, kprobe -- host-wide, no namespace.
Napi::Value Session::AttachTracing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Failure f;
  if (ProgramFd(name, &f) < 0) {
    MakeError(env, f).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, name.c_str());
  ClearLibbpfLog();
  struct bpf_link* link = bpf_program__attach(prog);
  if (!link) {
    int err = errno;
    MakeError(env, {err, "attach " + name, strerror(err), LibbpfLogTail()}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  LinkEntry e;
  e.kind = LinkEntry::Kind::kLibbpf;
  e.link = link;
  return Napi::Number::New(env, AddLink(std::move(e)));
}

// ---- attaching in namespaces, off the JS thread ----------------------------------------

namespace {

struct AttachJob {
  std::string kind;  // tcx | clsact | netfilter
  std::string prog;
  std::string netns;
  int ifindex = 0;
  TcDir dir = TcDir::kIngress;
  uint32_t pf = 2, hooknum = 0;
  int32_t priority = 0;
  // result
  uint32_t link_id = 0;
  Failure failure;
};

class AttachWorker : public Napi::AsyncWorker {
 public:
  AttachWorker(Napi::Env env, Session* s, std::vector<AttachJob> jobs)
      : Napi::AsyncWorker(env), session_(s), jobs_(std::move(jobs)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // Attaching a tcx link waits for an RCU grace period (~9 ms here) under the rtnl lock,
    // so threads barely help tcx (measured: 2,000 links 28 s on one thread, 23 s on 64) and
    // do not help clsact at all; a small pool still overlaps the netlink round trips and
    // namespace switches. Jobs go in chunks of one namespace; every thread visits the
    // namespace of its chunk and comes back.
    std::vector<size_t> order(jobs_.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return jobs_[a].netns < jobs_[b].netns; });
    std::vector<std::pair<size_t, size_t>> chunks;  // [begin, end) in order
    constexpr size_t kChunk = 16;
    for (size_t i = 0; i < order.size();) {
      size_t j = i;
      while (j < order.size() && j - i < kChunk && jobs_[order[j]].netns == jobs_[order[i]].netns) j++;
      chunks.emplace_back(i, j);
      i = j;
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t c; (c = next.fetch_add(1)) < chunks.size();) {
        const std::string& ns = jobs_[order[chunks[c].first]].netns;
        NetnsVisit visit(ns);
        for (size_t k = chunks[c].first; k < chunks[c].second; k++) {
          AttachJob& j = jobs_[order[k]];
          if (!visit.ok()) {
            j.failure = visit.failure();
            continue;
          }
          RunOne(j);
        }
      }
    };
    size_t nthreads = std::min<size_t>(8, chunks.size());
    std::vector<std::thread> pool;
    for (size_t t = 1; t < nthreads; t++) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, jobs_.size());
    for (size_t i = 0; i < jobs_.size(); i++) {
      const AttachJob& j = jobs_[i];
      if (j.link_id) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("ok", true);
        o.Set("linkId", j.link_id);
        out.Set(i, o);
      } else {
        out.Set(i, FailureToObject(env, j.failure));
      }
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void RunOne(AttachJob& j) {
    int prog_fd = session_->ProgramFd(j.prog, &j.failure);
    if (prog_fd < 0) return;
    LinkEntry e;
    e.netns = j.netns;
    if (j.kind == "tcx") {
      e.fd = AttachTcx(prog_fd, j.ifindex, j.dir, &j.failure);
      if (e.fd < 0) return;
      e.kind = LinkEntry::Kind::kFd;
    } else if (j.kind == "netfilter") {
      e.fd = AttachNetfilter(prog_fd, j.pf, j.hooknum, j.priority, &j.failure);
      if (e.fd < 0) return;
      e.kind = LinkEntry::Kind::kFd;
    } else if (j.kind == "clsact") {
      if (!AttachClsact(prog_fd, j.ifindex, j.dir, &e.clsact, &j.failure)) return;
      e.kind = LinkEntry::Kind::kClsact;
    } else {
      j.failure = {EINVAL, "attach", "unknown attach kind " + j.kind};
      return;
    }
    j.link_id = session_->AddLink(std::move(e));
  }

  Session* session_;
  std::vector<AttachJob> jobs_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

// attachBatch([{kind, prog, netns, ifindex, dir, pf, hooknum, priority}]) -> Promise<results>
Napi::Value Session::AttachBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<AttachJob> jobs;
  Napi::Array a = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object o = a.Get(i).As<Napi::Object>();
    AttachJob j;
    j.kind = o.Get("kind").As<Napi::String>().Utf8Value();
    j.prog = o.Get("prog").As<Napi::String>().Utf8Value();
    if (o.Has("netns") && o.Get("netns").IsString()) j.netns = o.Get("netns").As<Napi::String>().Utf8Value();
    if (o.Has("ifindex")) j.ifindex = o.Get("ifindex").As<Napi::Number>().Int32Value();
    if (o.Has("dir")) j.dir = o.Get("dir").As<Napi::String>().Utf8Value() == "egress" ? TcDir::kEgress : TcDir::kIngress;
    if (o.Has("pf")) j.pf = o.Get("pf").As<Napi::Number>().Uint32Value();
    if (o.Has("hooknum")) j.hooknum = o.Get("hooknum").As<Napi::Number>().Uint32Value();
    if (o.Has("priority")) j.priority = o.Get("priority").As<Napi::Number>().Int32Value();
    jobs.push_back(std::move(j));
  }
  auto* w = new AttachWorker(env, this, std::move(jobs));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

void Session::DestroyLink(LinkEntry& e) {
  switch (e.kind) {
    case LinkEntry::Kind::kLibbpf:
      if (e.link) bpf_link__destroy(e.link);
      e.link = nullptr;
      break;
    case LinkEntry::Kind::kFd:
      if (e.fd >= 0) close(e.fd);
      e.fd = -1;
      break;
    case LinkEntry::Kind::kClsact: {
      NetnsVisit visit(e.netns);
      Failure f;
      if (visit.ok()) {
        DetachClsact(e.clsact, &f);
        if (e.clsact.created_qdisc) {
          DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = e.clsact.ifindex,
                              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
          bpf_tc_hook_destroy(&hook);
        }
      }
      break;
    }
  }
}

// Releasing a tcx link waits for a grace period too: many at once go through a pool.
void Session::DestroyLinks(std::map<uint32_t, LinkEntry>& links) {
  std::vector<LinkEntry*> all;
  for (auto& kv : links) all.push_back(&kv.second);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < all.size();) DestroyLink(*all[i]);
  };
  size_t nthreads = std::min<size_t>(64, (all.size() + 15) / 16);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < nthreads; t++) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// detach(linkId | linkId[])
Napi::Value Session::Detach(const Napi::CallbackInfo& info) {
  std::vector<uint32_t> ids;
  if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) ids.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  } else {
    ids.push_back(info[0].As<Napi::Number>().Uint32Value());
  }
  std::vector<LinkEntry> doomed;
  {
    std::lock_guard<std::mutex> lock(links_mu_);
    for (uint32_t id : ids) {
      auto it = links_.find(id);
      if (it == links_.end()) continue;
      doomed.push_back(std::move(it->second));
      links_.erase(it);
    }
  }
  std::map<uint32_t, LinkEntry> batch;
  uint32_t k = 0;
  for (auto& e : doomed) batch.emplace(k++, std::move(e));
  DestroyLinks(batch);
  return info.Env().Undefined();
}

Napi::Value Session::LinkCount(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(links_mu_);
  return Napi::Number::New(info.Env(), links_.size());
}

// ---- the ring -> JS transport ------------------------------------------------------------

// start(onBatch(buffer, records), onEnd(), maxQueuedBatches?)
Napi::Value Session::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || started_) {
    MakeError(env, {EINVAL, "start", closed_ ? "the session is closed" : "the session is already started"})
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t max_queue = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 256;
  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &Session::OnRecord, this, nullptr);
  if (!rb_) {
    MakeError(env, {errno, "start", "cannot open the ring buffer"}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* ctx = new BatchContext{this, Napi::Persistent(info[1].As<Napi::Function>())};
  BatchTsfn typed = BatchTsfn::New(
      env, info[0].As<Napi::Function>(), "mesh-trace-ring", max_queue, 1, ctx,
      [](Napi::Env, void*, BatchContext* c) {
        Napi::FunctionReference end = std::move(c->on_end);
        delete c;
        if (!end.IsEmpty()) end.Call({});
      },
      static_cast<void*>(nullptr));
  tsfn_ = static_cast<napi_threadsafe_function>(typed);
  started_ = true;
  poller_ = std::thread([this] { PollLoop(); });
  return env.Undefined();
}

int Session::OnRecord(void* ctx, void* data, size_t size) {
  auto* s = static_cast<Session*>(ctx);
  if (size < s->record_size_) {
    s->short_records_++;
    return 0;
  }
  if (!s->batch_) {
    s->batch_ = new Batch();
    s->batch_->bytes.reserve(static_cast<size_t>(s->batch_records_) * s->record_size_);
    s->batch_started_ns_ = NowNs();
  }
  const auto* p = static_cast<const uint8_t*>(data);
  s->batch_->bytes.insert(s->batch_->bytes.end(), p, p + s->record_size_);
  // --snaplen: the packet's bytes follow the record; the batch keeps a fixed stride and
  // the bytes go, in record order, to the batch's payload buffer
  if (size > s->record_size_) s->batch_->payload.insert(s->batch_->payload.end(), p + s->record_size_, p + size);
  s->batch_->records++;
  s->read_records_++;
  if (s->batch_->records >= s->batch_records_) s->Flush();
  return 0;
}

// Poll thread only: one call into JS per batch, never per event.
void Session::Flush() {
  if (!batch_) return;
  Batch* b = batch_;
  batch_ = nullptr;
  uint32_t n = b->records;
  if (napi_call_threadsafe_function(tsfn_, b, napi_tsfn_nonblocking) != napi_ok) {
    queue_full_records_ += n;  // JS is not keeping up: counted, never silent
    delete b;
  } else {
    batches_++;
  }
}

void Session::PollLoop() {
  // The kernel side wakes us only once a batch worth of data waits; the poll timeout
  // bounds how long a trickle (a single request) waits to flush_ms.
  while (!stop_.load(std::memory_order_relaxed)) {
    ring_buffer__poll(rb_, static_cast<int>(flush_ms_));
    ring_buffer__consume(rb_);
    if (batch_ && NowNs() - batch_started_ns_ >= flush_ms_ * 1000000ull) Flush();
  }
  ring_buffer__consume(rb_);  // what was already in the ring when close() came
  Flush();
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
}

static uint64_t SumPerCpu(int map_fd, uint32_t key) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return 0;
  std::vector<uint64_t> vals(ncpu);
  if (bpf_map_lookup_elem(map_fd, &key, vals.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : vals) sum += v;
  return sum;
}

void Session::ReadKernelCounters() {
  if (!skel_) return;  // closed: the last values read stay
  int fd = bpf_map__fd(skel_->maps.counters);
  for (uint32_t i = 0; i < MT_CNT__MAX; i++) kernel_counters_[i] = SumPerCpu(fd, i);
}

Napi::Value Session::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  ReadKernelCounters();
  o.Set("emitted", Napi::Number::New(env, kernel_counters_[MT_CNT_EMITTED]));
  o.Set("ringFull", Napi::Number::New(env, kernel_counters_[MT_CNT_RING_FULL]));
  o.Set("filtered", Napi::Number::New(env, kernel_counters_[MT_CNT_FILTERED]));
  o.Set("parseShort", Napi::Number::New(env, kernel_counters_[MT_CNT_PARSE_SHORT]));
  o.Set("read", Napi::Number::New(env, read_records_.load()));
  o.Set("batches", Napi::Number::New(env, batches_.load()));
  o.Set("queueFull", Napi::Number::New(env, queue_full_records_.load()));
  o.Set("shortRecords", Napi::Number::New(env, short_records_.load()));
  o.Set("delivered", Napi::Number::New(env, delivered_records.load()));
  return o;
}

// ---- benchmark producer: synthetic records at kernel speed -------------------------------

namespace {
struct BenchArgs {
  uint32_t count, produced, dropped, pad;
};

class BenchWorker : public Napi::AsyncWorker {
 public:
  // Produces `total` records in chunks, never more than `window` ahead of what JS has
  // taken, so the transport is measured at zero loss rather than at ring overflow.
  BenchWorker(Napi::Env env, Session* s, int prog_fd, uint64_t total, uint32_t chunk, uint64_t window)
      : Napi::AsyncWorker(env), s_(s), prog_fd_(prog_fd), total_(total), chunk_(chunk), window_(window),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    uint64_t start_delivered = s_->delivered_records.load();
    while (produced_ + dropped_ < total_) {
      while (produced_ - (s_->delivered_records.load() - start_delivered) > window_) usleep(50);
      BenchArgs args{static_cast<uint32_t>(std::min<uint64_t>(chunk_, total_ - produced_ - dropped_)), 0, 0, 0};
      DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
      if (bpf_prog_test_run_opts(prog_fd_, &opts) != 0) {
        SetError(std::string("bench producer: ") + strerror(errno));
        return;
      }
      produced_ += args.produced;
      dropped_ += args.dropped;
    }
  }
  void OnOK() override {
    Napi::Object o = Napi::Object::New(Env());
    o.Set("produced", Napi::Number::New(Env(), produced_));
    o.Set("dropped", Napi::Number::New(Env(), dropped_));
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Session* s_;
  int prog_fd_;
  uint64_t total_;
  uint32_t chunk_;
  uint64_t window_;
  uint64_t produced_ = 0, dropped_ = 0;
  Napi::Promise::Deferred deferred_;
};
}  // namespace

// benchProduce(total, chunk, window) -> Promise<{produced, dropped}>
Napi::Value Session::BenchProduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Failure f;
  int fd = ProgramFd("mt_bench_produce", &f);
  if (fd < 0) {
    MakeError(env, f).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new BenchWorker(env, this, fd, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                            info[1].As<Napi::Number>().Uint32Value(),
                            static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue()));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- the end ------------------------------------------------------------------------------

Napi::Value Session::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

void Session::Shutdown() {
  if (closed_ && !skel_) return;
  closed_ = true;
  if (started_) {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    started_ = false;
  }
  if (rb_) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  std::map<uint32_t, LinkEntry> doomed;
  {
    std::lock_guard<std::mutex> lock(links_mu_);
    doomed.swap(links_);
  }
  DestroyLinks(doomed);
  ReadKernelCounters();  // the summary printed after close still shows the kernel's counts
  if (skel_) {
    mesh_trace__destroy(skel_);
    skel_ = nullptr;
  }
  std::lock_guard<std::mutex> lock(g_sessions_mu);
  g_sessions.erase(this);
}

void CloseAllSessions() {
  std::vector<Session*> all;
  {
    std::lock_guard<std::mutex> lock(g_sessions_mu);
    all.assign(g_sessions.begin(), g_sessions.end());
  }
  for (Session* s : all) s->Shutdown();
}

// ---- probing one rung: load + attach + detach, for the ladder and `doctor` ---------------

// probeProgram(name, {netns?, ifindex?}) -> {ok:true} | {ok:false, code, errno, op, message, log}
Napi::Value ProbeProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  std::string how = opts.Has("attach") ? opts.Get("attach").As<Napi::String>().Utf8Value() : "auto";
  Failure f;
  struct mesh_trace* skel = OpenObject({name}, 4096, nullptr, 0, &f);
  if (!skel) return FailureToObject(env, f);
  struct bpf_program* prog = bpf_object__find_program_by_name(skel->obj, name.c_str());
  int prog_fd = bpf_program__fd(prog);
  bool ok = true;
  ClearLibbpfLog();
  if (how == "tcx" || how == "clsact") {
    int ifindex = 1;  // loopback of this namespace: always there; -1 from the program changes nothing
    if (how == "tcx") {
      int fd = AttachTcx(prog_fd, ifindex, TcDir::kIngress, &f);
      ok = fd >= 0;
      if (ok) close(fd);
    } else {
      ClsactFilter cf;
      ok = AttachClsact(prog_fd, ifindex, TcDir::kIngress, &cf, &f);
      if (ok) {
        DetachClsact(cf, &f);
        if (cf.created_qdisc) {
          DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
          bpf_tc_hook_destroy(&hook);
        }
      }
    }
  } else if (how == "netfilter") {
    int fd = AttachNetfilter(prog_fd, 2, 0, -151, &f);
    ok = fd >= 0;
    if (ok) close(fd);
  } else if (how != "load") {
    struct bpf_link* link = bpf_program__attach(prog);
    ok = link != nullptr;
    if (ok) {
      bpf_link__destroy(link);
    } else {
      int err = errno;
      f = {err, "attach " + name, strerror(err), LibbpfLogTail()};
    }
  }
  mesh_trace__destroy(skel);
  if (ok) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ok", true);
    return o;
  }
  return FailureToObject(env, f);
}

// ---- devices of a namespace -------------------------------------------------------------

namespace {
class ListLinksWorker : public NetnsWorker {
 public:
  using NetnsWorker::NetnsWorker;

 protected:
  void InNetns() override {
    int fd = OpenRtnetlink(0, &failure_);
    if (fd < 0) return;
    DumpLinks(fd, &links_, &failure_);
    close(fd);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, links_.size());
    for (size_t i = 0; i < links_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("ifindex", links_[i].ifindex);
      o.Set("name", links_[i].name);
      o.Set("kind", links_[i].kind);
      o.Set("master", links_[i].master);
      o.Set("up", links_[i].up);
      o.Set("loopback", links_[i].loopback);
      out.Set(i, o);
    }
    return out;
  }

 private:
  std::vector<LinkInfo> links_;
};
}  // namespace

// listLinks(netnsPath) -> Promise<[{ifindex, name, kind, master, up, loopback}]>
Napi::Value ListLinks(const Napi::CallbackInfo& info) {
  return NetnsWorker::Start(new ListLinksWorker(info.Env(), NetnsWorker::NetnsArg(info)));
}

// removeClsact(netnsPath, ifindex, dir) -> {ok} | failure: a filter of ours that a killed
// process left behind (found through the ledger in /run/mesh-trace).
Napi::Value RemoveClsact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NetnsVisit visit(info[0].As<Napi::String>().Utf8Value());
  if (!visit.ok()) return FailureToObject(env, visit.failure());
  ClsactFilter cf;
  cf.ifindex = info[1].As<Napi::Number>().Int32Value();
  cf.dir = info[2].As<Napi::String>().Utf8Value() == "egress" ? TcDir::kEgress : TcDir::kIngress;
  cf.handle = kClsactHandle;
  cf.priority = kClsactPriority;
  Failure f;
  if (!DetachClsact(cf, &f)) return FailureToObject(env, f);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", true);
  return o;
}

// recordLayout() -> sizes and offsets straight from the C compiler, for the layout test
Napi::Value RecordLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#define F(obj, type, field) obj.Set(#field, Napi::Number::New(env, offsetof(type, field)))
  o.Set("version", MT_EVENT_VERSION);
  o.Set("size", Napi::Number::New(env, sizeof(struct mt_event)));
  Napi::Object ev = Napi::Object::New(env);
  F(ev, struct mt_event, type); F(ev, struct mt_event, version); F(ev, struct mt_event, hook);
  F(ev, struct mt_event, dir); F(ev, struct mt_event, cpu); F(ev, struct mt_event, flags);
  F(ev, struct mt_event, ts_ns); F(ev, struct mt_event, skb); F(ev, struct mt_event, netns);
  F(ev, struct mt_event, ifindex); F(ev, struct mt_event, len); F(ev, struct mt_event, mark);
  F(ev, struct mt_event, drop_reason); F(ev, struct mt_event, vni); F(ev, struct mt_event, aux);
  F(ev, struct mt_event, caplen);
  F(ev, struct mt_event, outer); F(ev, struct mt_event, inner);
  o.Set("event", ev);
  Napi::Object h = Napi::Object::New(env);
  F(h, struct mt_headers, saddr); F(h, struct mt_headers, daddr); F(h, struct mt_headers, tcp_seq);
  F(h, struct mt_headers, tcp_ack); F(h, struct mt_headers, sport); F(h, struct mt_headers, dport);
  F(h, struct mt_headers, ip_id); F(h, struct mt_headers, proto); F(h, struct mt_headers, tcp_flags);
  F(h, struct mt_headers, ip_len); F(h, struct mt_headers, ttl);
  o.Set("headers", h);
  o.Set("headersSize", Napi::Number::New(env, sizeof(struct mt_headers)));
  Napi::Object flt = Napi::Object::New(env);
  F(flt, struct mt_filter, port); F(flt, struct mt_filter, proto); F(flt, struct mt_filter, addr);
  F(flt, struct mt_filter, addr_prefix); F(flt, struct mt_filter, addr_v6); F(flt, struct mt_filter, netns_count);
  F(flt, struct mt_filter, netns); F(flt, struct mt_filter, wakeup_bytes); F(flt, struct mt_filter, snaplen);
  o.Set("filter", flt);
  o.Set("filterSize", Napi::Number::New(env, sizeof(struct mt_filter)));
  o.Set("maxNetns", MT_MAX_NETNS);
  o.Set("snaplenMax", MT_SNAPLEN_MAX);
#undef F
  return o;
}

}  // namespace mt
