// The reference consumer for bench/transport.js: plain C over libbpf, reading the same ring
// filled by the same producer program with the same pacing, touching one field per record
// (as the TypeScript side reads at least the hook of each). No addon, no JavaScript.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../bpf/events.h"
#include "mesh_trace.skel.h"

struct bench_args { __u32 count, produced, dropped, pad; };

static atomic_ullong consumed;
static unsigned long long checksum;
static unsigned long long total, window_records;
static int prog_fd;
static unsigned long long produced, dropped;

static int on_record(void *ctx, void *data, size_t size) {
  const struct mt_event *e = data;
  checksum += e->hook + e->len;
  atomic_fetch_add_explicit(&consumed, 1, memory_order_relaxed);
  return 0;
}

static void *producer(void *arg) {
  while (produced + dropped < total) {
    while (produced - atomic_load(&consumed) > window_records) usleep(50);
    unsigned long long left = total - produced - dropped;
    struct bench_args a = { .count = left < 8192 ? (unsigned)left : 8192 };
    LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));
    if (bpf_prog_test_run_opts(prog_fd, &o)) { perror("test_run"); exit(1); }
    produced += a.produced;
    dropped += a.dropped;
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  total = argc > 1 ? strtoull(argv[1], 0, 10) : 10000000ull;
  unsigned ring = argc > 2 ? strtoul(argv[2], 0, 10) : (16u << 20);
  window_records = ring / sizeof(struct mt_event) / 2;
  struct mesh_trace *skel = mesh_trace__open();
  struct bpf_program *p;
  bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, strcmp(bpf_program__name(p), "mt_bench_produce") == 0);
  /* as a session sets it (src/probe/session.ts, wakeupRecords): an eighth of the ring */
  skel->rodata->mt_cfg.wakeup_bytes = ring / 8 / sizeof(struct mt_event) * sizeof(struct mt_event);
  bpf_map__set_max_entries(skel->maps.events, ring);
  if (mesh_trace__load(skel)) { fprintf(stderr, "load failed\n"); return 1; }
  prog_fd = bpf_program__fd(skel->progs.mt_bench_produce);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
  pthread_t t;
  double t0 = now();
  pthread_create(&t, NULL, producer, NULL);
  while (atomic_load(&consumed) < total - 0) {
    ring_buffer__poll(rb, 4);
    ring_buffer__consume(rb);
    if (produced + dropped >= total && atomic_load(&consumed) >= produced) break;
  }
  double dt = now() - t0;
  pthread_join(t, NULL);
  printf("{\"records\":%llu,\"dropped\":%llu,\"seconds\":%.6f,\"perSecond\":%.0f,\"checksum\":%llu}\n",
         (unsigned long long)atomic_load(&consumed), dropped, dt, atomic_load(&consumed) / dt, checksum);
  ring_buffer__free(rb);
  mesh_trace__destroy(skel);
  return 0;
}
