/*
 * The CPU build of anneal_kernels.h: "device" memory is host memory and every launch is a host
 * loop over the same functors (ops.cuh) and element functions (elementwise.cuh) the CUDA
 * kernels run. It exists so CI, which has no GPU, tests the GPU build's arithmetic and its
 * selection algorithm; it is not meant to be fast.
 */
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "anneal_kernels.h"
#include "ops.cuh"
#include "ranges.h"

namespace {

// The codes of the CUDA build's failures that can happen here too (cudaError_t values).
constexpr int kErrInvalidValue = 1;
constexpr int kErrMemoryAllocation = 2;

template <class F>
int run_map(const F &f, size_t n, bool aligned) {
  size_t done = 0;
  if (aligned) {
    for (; done + 4 <= n; done += 4) f.template run<4>(done);
  }
  for (; done < n; ++done) f.template run<1>(done);
  return 0;
}

template <class F>
int run_reduce(const F &f, size_t n, bool aligned, typename F::Acc *out) {
  typename F::Acc acc = F::identity();
  size_t done = 0;
  if (aligned) {
    for (; done + 4 <= n; done += 4) f.template run<4>(done, acc);
  }
  for (; done < n; ++done) f.template run<1>(done, acc);
  *out = acc;
  return 0;
}

int perturb_segments(float *x, size_t, float sigma, const anneal_random_spec &spec,
                     const anneal_range *segs, size_t nsegs) {
  // All scales first: each uses the norms of x before the update.
  std::vector<float> scales(nsegs);
  for (size_t s = 0; s < nsegs; ++s) {
    anneal::SegmentNorms norms{0.0, 0.0};
    for (uint64_t i = segs[s].offset; i < segs[s].offset + segs[s].length; ++i) {
      const double d = anneal::sample(spec, uint32_t(i));
      norms.xx += double(x[i]) * x[i];
      norms.dd += d * d;
    }
    scales[s] = norms.dd > 0.0 ? float(sigma * std::sqrt(norms.xx) / std::sqrt(norms.dd)) : 0.0f;
  }
  for (size_t s = 0; s < nsegs; ++s) {
    const anneal::PerturbOp op{x, scales[s], spec};
    for (uint64_t i = segs[s].offset; i < segs[s].offset + segs[s].length; ++i) op.run<1>(i);
  }
  return 0;
}

std::chrono::steady_clock::time_point g_timer_start;

}  // namespace

#include "api_common.inc"

extern "C" {

const char *anneal_backend_name(void) { return "cpu"; }

int anneal_probe(char *name, size_t name_capacity) {
  if (name && name_capacity > 0) {
    std::snprintf(name, name_capacity, "host CPU (anneal_cpu build of the CUDA kernels)");
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

int anneal_alloc(float **out, size_t n) {
  // 64-byte aligned like cudaMalloc's 256, so the W = 4 path runs here too.
  const size_t bytes = ((n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
  *out = static_cast<float *>(std::aligned_alloc(64, bytes));
  if (!*out) return kErrMemoryAllocation;
  std::memset(*out, 0, bytes);
  return 0;
}

int anneal_free(float *p) {
  std::free(p);
  return 0;
}

int anneal_upload(float *dst, const float *host_src, size_t n) {
  if (n) std::memcpy(dst, host_src, n * sizeof(float));
  return 0;
}

int anneal_download(float *host_dst, const float *src, size_t n) {
  if (n) std::memcpy(host_dst, src, n * sizeof(float));
  return 0;
}

int anneal_copy(float *dst, const float *src, size_t n) {
  if (n) std::memmove(dst, src, n * sizeof(float));
  return 0;
}

int anneal_synchronize(void) { return 0; }

int anneal_timer_start(void) {
  g_timer_start = std::chrono::steady_clock::now();
  return 0;
}

int anneal_timer_stop(float *elapsed_ms) {
  const auto elapsed = std::chrono::steady_clock::now() - g_timer_start;
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
