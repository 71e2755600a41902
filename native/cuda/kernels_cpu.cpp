/*
 * The host build of anneal_kernels.h, the `host` kernel backend: "device" memory is host memory
 * and every launch is a loop over the same functors (ops.cuh) and element functions
 * (elementwise.cuh) the CUDA kernels run, so it also tests the GPU build's arithmetic where no
 * GPU is present. Loops run on OpenMP threads when built with OpenMP (else on one thread).
 * Reductions sum fixed chunks in order and then the chunks' partials in order, so a result does
 * not depend on the thread count.
 */
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "anneal_kernels.h"
#include "ops.cuh"
#include "ranges.h"

namespace {

// The codes of the CUDA build's failures that can happen here too (cudaError_t values).
constexpr int kErrInvalidValue = 1;
constexpr int kErrMemoryAllocation = 2;

/*
 * A loop runs on the pool when n * Cost<F> >= kParallelWork, else on the calling thread: waking
 * sleeping threads costs about as much as one thread spends on 2^16 elements of axpy. Cost<F> is
 * an op's time per element relative to axpy's, single-threaded (2 cores, bench:kernels):
 * float64 reductions ~5x, Adam (a sqrt and two divisions) ~25x, Philox draws ~300x.
 */
constexpr size_t kParallelWork = size_t(1) << 16;
template <class F>
struct Cost {
  static constexpr size_t value = 1;
};
template <>
struct Cost<anneal::DotOp> {
  static constexpr size_t value = 4;
};
template <>
struct Cost<anneal::SumSquaresOp> {
  static constexpr size_t value = 4;
};
template <>
struct Cost<anneal::AdamOp> {
  static constexpr size_t value = 16;
};
template <>
struct Cost<anneal::RandomOp> {
  static constexpr size_t value = 256;
};
template <>
struct Cost<anneal::PerturbOp> {
  static constexpr size_t value = 256;
};
template <>
struct Cost<anneal::LangevinOp> {
  static constexpr size_t value = 256;
};

template <class F>
bool worth_threads(size_t n) {
  return n >= kParallelWork / Cost<F>::value;
}

/* A reduction's unit of order: each chunk is summed alone, left to right, then the partials
 * are summed in chunk order. A multiple of 4 (the W = 4 path stays aligned). */
constexpr size_t kReduceChunk = 4096;

/** Threads of the parallel loops: anneal_set_threads' count, else every core. A process-wide
 *  setting (OpenMP's pool is the process's); atomic, as worker threads may set it. */
std::atomic<int> g_threads{0};

int thread_count() {
#ifdef _OPENMP
  const int threads = g_threads.load(std::memory_order_relaxed);
  return threads > 0 ? threads : omp_get_num_procs();
#else
  return 1;
#endif
}

/** body(k) for k in [0, count), split statically over the threads when `parallel`. */
template <class Body>
void parallel_for(size_t count, bool parallel, const Body &body) {
  const ptrdiff_t end = ptrdiff_t(count);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(thread_count()) if (parallel)
#endif
  for (ptrdiff_t k = 0; k < end; ++k) body(size_t(k));
  (void)parallel;
}

/** f.run<W>(i) over [begin, end); W = 4 on whole quads when `aligned` and begin % 4 == 0. */
template <class F>
void map_range(const F &f, size_t begin, size_t end, bool aligned) {
  const bool parallel = worth_threads<F>(end - begin);
  size_t done = begin;
  if (aligned && begin % 4 == 0) {
    const size_t quads = (end - begin) / 4;
    parallel_for(quads, parallel, [&](size_t q) { f.template run<4>(begin + 4 * q); });
    done = begin + 4 * quads;
  }
  parallel_for(end - done, worth_threads<F>(end - done),
               [&](size_t k) { f.template run<1>(done + k); });
}

template <class F>
int run_map(const F &f, size_t n, bool aligned) {
  map_range(f, 0, n, aligned);
  return 0;
}

/**
 * Adam without masks or AMSGrad (the Trainer's usual step): the same element function in a
 * plain loop over restrict pointers, which the compiler vectorises (the quad functor, with its
 * optional arrays, it does not): the same arithmetic per element, so the same bits.
 */
int run_map(const anneal::AdamOp &f, size_t n, bool aligned) {
  if (f.vmax != nullptr || f.lr_mask != nullptr || f.decay_mask != nullptr) {
    map_range(f, 0, n, aligned);
    return 0;
  }
  float *__restrict param = f.param;
  float *__restrict m = f.m;
  float *__restrict v = f.v;
  const float *__restrict grad = f.grad;
  const anneal_adam_params h = f.h;
  constexpr size_t kBlock = 4096;
  parallel_for((n + kBlock - 1) / kBlock, worth_threads<anneal::AdamOp>(n), [&](size_t b) {
    const size_t end = std::min(n, (b + 1) * kBlock);
    for (size_t i = b * kBlock; i < end; ++i) {
      float p = param[i], mi = m[i], vi = v[i], unused = 0.0f;
      anneal::adam_element(p, grad[i], mi, vi, unused, false, 1.0f, 1.0f, h);
      param[i] = p;
      m[i] = mi;
      v[i] = vi;
    }
  });
  return 0;
}

/** The reduction of f over [begin, end) in kReduceChunk chunks (see the file comment). */
template <class F>
typename F::Acc reduce_range(const F &f, size_t begin, size_t end, bool aligned) {
  using Acc = typename F::Acc;
  const size_t chunks = (end - begin + kReduceChunk - 1) / kReduceChunk;
  std::vector<Acc> partials(chunks, F::identity());
  parallel_for(chunks, worth_threads<F>(end - begin), [&](size_t c) {
    const size_t first = begin + c * kReduceChunk;
    const size_t last = std::min(end, first + kReduceChunk);
    Acc acc = F::identity();
    size_t i = first;
    if (aligned && first % 4 == 0) {
      for (; i + 4 <= last; i += 4) f.template run<4>(i, acc);
    }
    for (; i < last; ++i) f.template run<1>(i, acc);
    partials[c] = acc;
  });
  Acc total = F::identity();
  for (const Acc &p : partials) total = F::combine(total, p);
  return total;
}

template <class F>
int run_reduce(const F &f, size_t n, bool aligned, typename F::Acc *out) {
  *out = reduce_range(f, 0, n, aligned);
  return 0;
}

/** ||x_seg||^2 and ||d_seg||^2 of one segment (d: the draws the perturbation adds). */
struct SegmentNormsOp {
  using Acc = anneal::SegmentNorms;
  const float *x;
  anneal_random_spec spec;
  static Acc identity() { return {0.0, 0.0}; }
  static Acc combine(Acc a, Acc b) { return {a.xx + b.xx, a.dd + b.dd}; }
  template <int W>
  void run(size_t i, Acc &acc) const {
    for (int j = 0; j < W; ++j) {
      const double d = anneal::sample(spec, uint32_t(i + j));
      acc.xx += double(x[i + j]) * x[i + j];
      acc.dd += d * d;
    }
  }
};
template <>
struct Cost<SegmentNormsOp> {
  static constexpr size_t value = 256;
};

int perturb_segments(float *x, size_t, float sigma, const anneal_random_spec &spec,
                     const anneal_range *segs, size_t nsegs) {
  // All scales first: each uses the norms of x before the update.
  std::vector<float> scales(nsegs);
  for (size_t s = 0; s < nsegs; ++s) {
    const size_t begin = segs[s].offset, end = begin + segs[s].length;
    const anneal::SegmentNorms norms = reduce_range(SegmentNormsOp{x, spec}, begin, end, false);
    scales[s] = norms.dd > 0.0 ? float(sigma * std::sqrt(norms.xx) / std::sqrt(norms.dd)) : 0.0f;
  }
  for (size_t s = 0; s < nsegs; ++s) {
    const size_t begin = segs[s].offset, end = begin + segs[s].length;
    map_range(anneal::PerturbOp{x, scales[s], spec}, begin, end, false);
  }
  return 0;
}

/** The host build's gate is in host memory: pass_gate reads it here, before the loop. */
template <class F>
int run_gated_map(F f, size_t n, bool aligned, const anneal_gate *gate) {
  if (gate && gate->vector && !anneal::pass_gate(f, *gate, gate->vector, true)) return 0;
  return run_map(f, n, aligned);
}

/** Per calling thread, like the CUDA build's timer events. */
thread_local std::chrono::steady_clock::time_point t_timer_start;

}  // namespace

#include "api_common.inc"

extern "C" {

const char *anneal_backend_name(void) { return "host"; }

int anneal_set_threads(int n) {
  g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed);
  return thread_count();
}

int anneal_probe(char *name, size_t name_capacity) {
  if (name && name_capacity > 0) {
    std::snprintf(name, name_capacity, "host CPU (anneal_cpu.node: the CUDA kernels built for the host)");
  }
  return 0;
}

const char *anneal_error_string(int code) {
  switch (code) {
    case 0:
      return "no error";
    case kErrInvalidValue:
      return "invalid argument";
    case kErrMemoryAllocation:
      return "out of host memory";
    default:
      return "unknown error";
  }
}

const char *anneal_error_name(int code) {
  switch (code) {
    case 0:
      return "success";
    case kErrInvalidValue:
      return "invalidValue";
    case kErrMemoryAllocation:
      return "memoryAllocation";
    default:
      return "unknown";
  }
}

/** n floats filled with `byte`: 0 for anneal_alloc; 0xFF (NaN, -1, 255) poisons the rest. */
static int allocate(float **out, size_t n, int byte) {
  // 64-byte aligned like cudaMalloc's 256, so the W = 4 path runs here too.
  const size_t bytes = ((n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
  *out = static_cast<float *>(std::aligned_alloc(64, bytes));
  if (!*out) return kErrMemoryAllocation;
  std::memset(*out, byte, bytes);
  return 0;
}

int anneal_alloc(float **out, size_t n) { return allocate(out, n, 0); }

int anneal_alloc_uninitialized(float **out, size_t n) { return allocate(out, n, 0xFF); }

int anneal_free(float *p) {
  std::free(p);
  return 0;
}

int anneal_upload_bytes(void *dst, const void *host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
  return 0;
}

int anneal_download_bytes(void *host_dst, const void *src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
  return 0;
}

int anneal_copy_bytes(void *dst, const void *src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
  return 0;
}

int anneal_copy_batch(void *const *dsts, const void *const *srcs, const size_t *bytes,
                      size_t count) {
  for (size_t i = 0; i < count; ++i) anneal_copy_bytes(dsts[i], srcs[i], bytes[i]);
  return 0;
}

int anneal_synchronize(void) { return 0; }

int anneal_clip_by_global_norm(float *g, size_t n, double max_norm, double *norm) {
  double sum_squares = 0.0;
  run_reduce(anneal::SumSquaresOp{g}, n, aligned16(g), &sum_squares);
  *norm = std::sqrt(sum_squares);
  const double coef = max_norm / (*norm + 1e-6);
  if (coef < 1.0) run_map(anneal::ScaleOp{g, float(coef)}, n, aligned16(g));
  return 0;
}

int anneal_gate_non_finite(float *gate, const float *x, size_t n, double step) {
  unsigned long long count = 0;
  run_reduce(anneal::CountNonFiniteOp{x}, n, aligned16(x), &count);
  anneal::gate_record(gate, count > 0 || anneal::is_non_finite(gate[4]), step);
  return 0;
}

int anneal_clip_by_global_norm_into(float *g, size_t n, double max_norm, float *norm_out) {
  double norm = 0.0;
  anneal_clip_by_global_norm(g, n, max_norm, &norm);
  *norm_out = float(norm);
  return 0;
}

/** Nothing per thread to free: the host build keeps no scratch between calls. */
int anneal_release_thread(void) { return 0; }

int anneal_timer_start(void) {
  t_timer_start = std::chrono::steady_clock::now();
  return 0;
}

int anneal_timer_stop(float *elapsed_ms) {
  const auto elapsed = std::chrono::steady_clock::now() - t_timer_start;
  *elapsed_ms = std::chrono::duration<float, std::milli>(elapsed).count();
  return 0;
}

int anneal_magnitude_mask(const float *x, float *mask, size_t, const anneal_range *segs,
                          size_t nsegs, uint64_t count, float *threshold) {
  const std::vector<anneal_range> ranges = anneal::merged_ranges(segs, nsegs);
  if (count > anneal::total_length(ranges)) return kErrInvalidValue;
  *threshold = 0.0f;
  if (count == 0) {
    for (const anneal_range &r : ranges) std::fill(mask + r.offset, mask + r.offset + r.length, 1.0f);
    return 0;
  }
  // Radix select, the same digits as the CUDA build: after the last pass `prefix` is the key of
  // the count-th smallest |x| and `rank` its 1-based rank among the entries with that key.
  uint32_t prefix = 0;
  uint64_t rank = count;
  std::vector<uint64_t> hist(anneal::kRadixBins);
  for (int pass = 0; pass < anneal::kRadixPasses; ++pass) {
    std::fill(hist.begin(), hist.end(), 0);
    const uint32_t high_mask = anneal::radix_high_mask(pass);
    for (const anneal_range &r : ranges) {
      for (uint64_t i = r.offset; i < r.offset + r.length; ++i) {
        const uint32_t key = anneal::magnitude_key(x[i]);
        if ((key & high_mask) == prefix) ++hist[anneal::radix_digit(key, pass)];
      }
    }
    uint64_t below = 0;
    for (uint32_t digit = 0; digit < uint32_t(anneal::kRadixBins); ++digit) {
      if (below + hist[digit] >= rank) {
        prefix |= digit << anneal::radix_shift(pass);
        rank -= below;
        break;
      }
      below += hist[digit];
    }
  }
  // Ties at the threshold key: the lowest indices are zeroed first.
  uint64_t ties_left = rank;
  for (const anneal_range &r : ranges) {
    for (uint64_t i = r.offset; i < r.offset + r.length; ++i) {
      const uint32_t key = anneal::magnitude_key(x[i]);
      bool zero = key < prefix;
      if (key == prefix && ties_left > 0) {
        zero = true;
        --ties_left;
      }
      mask[i] = zero ? 0.0f : 1.0f;
    }
  }
  *threshold = anneal::key_value(prefix);
  return 0;
}

}  // extern "C"

// The tfjs backend's CUDA device (anneal_device.h), on this build's run_map.
#include "device_common.inc"
#include "device_nn.inc"
#include "device_elementwise.inc"
