/*
 * The CUDA build of anneal_kernels.h. Element-wise ops are grid-stride loops over the functors
 * of ops.cuh with 128-bit loads where every array is 16-byte aligned; reductions are per-thread
 * partials and a block reduction, then the last block to finish sums the blocks' partials in a
 * fixed order, all in one launch (deterministic, no float atomics);
 * magnitude selection is a three-pass radix select over the bits of |x| (histograms in shared
 * memory, O(N), no sort).
 *
 * State: what the process shares is set up once (std::call_once: the device and its SM count);
 * everything else belongs to the calling thread (one Node environment runs on one thread, so this
 * is one state per addon instance: the main thread's, and each worker thread's): a
 * cudaStreamNonBlocking stream that all of the thread's work goes on, in order, the pinned
 * staging buffer, the reduction scratch and result slot, the radix-select state, the chunk table
 * and the timer events. No lock on the hot path: a thread only ever touches its own state.
 * anneal_release_thread() frees it (the binding calls it from its environment-cleanup hook).
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "anneal_kernels.h"
#include "ops.cuh"
#include "ranges.h"

#define ANNEAL_TRY(expr)                                   \
  do {                                                     \
    const cudaError_t anneal_err_ = (expr);                \
    if (anneal_err_ != cudaSuccess) return int(anneal_err_); \
  } while (0)

namespace {

constexpr int kThreads = 256;
constexpr int kSelectThreads = 1024;  // the select kernel scans 2 bins per thread
constexpr int kMaxReduceBlocks = 2048;
constexpr unsigned kFullWarp = 0xFFFFFFFFu;
/** Segments are cut into chunks of at most this many elements, one block at a time each. */
constexpr uint64_t kChunkElements = 16384;

static_assert(anneal::kRadixBins == 2 * kSelectThreads, "select kernel: 2 bins per thread");

/** A piece of one segment; `vec`: both ends are multiples of 4, so float4 access is safe. */
struct Chunk {
  uint64_t start, end;
  uint32_t segment;
  uint32_t vec;
};

struct SelectState {
  unsigned long long rank;        // 1-based rank of the wanted key among those matching prefix
  unsigned long long eq_total;    // entries equal to the final key
  uint32_t prefix;                // the digits fixed so far
  uint32_t pad;
};

/** Device buffers that grow on demand; kept until their thread's state is released. */
template <class T>
struct DeviceBuffer {
  T *ptr = nullptr;
  size_t capacity = 0;
  /** At least n elements; a larger buffer replaces the old one after `stream` (its only user)
   *  has finished with it. */
  cudaError_t reserve(size_t n, cudaStream_t stream) {
    if (n <= capacity) return cudaSuccess;
    if (ptr && stream) {
      const cudaError_t err = cudaStreamSynchronize(stream);
      if (err != cudaSuccess) return err;
    }
    release();
    const cudaError_t err = cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T));
    if (err == cudaSuccess) {
      capacity = n;
    } else {
      ptr = nullptr;
    }
    return err;
  }
  void release() {
    if (ptr) cudaFree(ptr);
    ptr = nullptr;
    capacity = 0;
  }
};

constexpr size_t kPinnedBytes = 4096;
/**
 * Uploads go through a ring of page-locked slots: the values are copied into a slot on the host,
 * then cudaMemcpyAsync takes them to the device on the stream, so the call returns without
 * waiting for the device (from pageable memory the driver may wait for the stream first, which
 * made every batch upload wait for the previous step's kernels). A slot is reused once its last
 * copy has left it (its event); kUploadSlots of them let that many uploads be in flight.
 * Uploads above kMaxStagedUpload go directly from pageable memory.
 */
constexpr int kUploadSlots = 4;
constexpr size_t kMaxStagedUpload = size_t(32) << 20;

struct UploadSlot {
  void *host = nullptr;  // page-locked, `capacity` bytes
  size_t capacity = 0;
  cudaEvent_t done = nullptr;  // recorded after the slot's last copy
};
/** Reduction scratch: kMaxReduceBlocks partials and the result (8 bytes each), the counter. */
constexpr size_t kReduceScratchBytes = (kMaxReduceBlocks + 2) * 8;

/** What every thread shares, set once per process. */
struct Process {
  cudaError_t status = cudaSuccess;
  int device = 0;
  int sms = 0;
  bool pools = false;  // stream-ordered allocation (cudaMallocAsync / cudaFreeAsync) supported
};

std::once_flag g_process_once;
Process g_process;

void init_process() {
  cudaError_t err = cudaGetDevice(&g_process.device);
  if (err == cudaSuccess) {
    err = cudaDeviceGetAttribute(&g_process.sms, cudaDevAttrMultiProcessorCount,
                                 g_process.device);
  }
  // Memory pools are optional: where the query fails, vectors use cudaMalloc / cudaFree.
  int pools = 0;
  if (err == cudaSuccess &&
      cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, g_process.device) !=
          cudaSuccess) {
    pools = 0;
    cudaGetLastError();  // clear it, so that no later call reports it
  }
  g_process.pools = pools != 0;
  if (g_process.pools) {
    // The default pool's release threshold is 0: every synchronisation (each read of a loss)
    // hands its free memory back to the driver, and the next step's cudaMallocAsync maps it
    // again. Keep what was freed for reuse (the CUDA runtime API's
    // cudaMemPoolAttrReleaseThreshold): the pool then holds at most the peak in use, as
    // PyTorch's caching allocator does, until the context goes.
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;
    if (cudaDeviceGetDefaultMemPool(&pool, g_process.device) != cudaSuccess ||
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep) != cudaSuccess) {
      cudaGetLastError();  // a pool that keeps nothing is slower, not wrong
    }
  }
  g_process.status = err;
}

/** One thread's state (see the top of this file). */
struct Context {
  cudaStream_t stream = nullptr;  // cudaStreamNonBlocking: never waits on the legacy stream
  void *pinned = nullptr;  // page-locked staging for small results: a faster round trip
  cudaEvent_t timer_start = nullptr, timer_stop = nullptr;
  UploadSlot uploads[kUploadSlots];
  int next_upload = 0;
  // kMaxReduceBlocks 8-byte partials, the result, then the blocks-done counter (kept at 0
  // between reductions: zeroed at creation, reset by each reduction's last block)
  DeviceBuffer<unsigned char> reduce_scratch;
  DeviceBuffer<unsigned long long> histograms;  // kRadixPasses * kRadixBins
  DeviceBuffer<SelectState> select_state;
  DeviceBuffer<Chunk> chunks;
  std::vector<Chunk> uploaded_chunks;  // what `chunks` holds, to skip re-uploading the same table
  DeviceBuffer<unsigned long long> chunk_counts;
  DeviceBuffer<anneal::SegmentNorms> chunk_norms;    // per-chunk partials of the norms
  DeviceBuffer<anneal::SegmentNorms> segment_norms;  // each segment's, summed in a fixed order
  // The tfjs device's (device_nn.inc): the thread's cuBLAS handle on `stream`, created at its
  // first GEMM, and its convolution scratch, grown on the stream.
  void *blas = nullptr;
  bool blas_failed = false;
  std::string blas_error;
  float *scratch = nullptr;
  size_t scratch_capacity = 0;
  // The thread's cuDNN handle on `stream` (device_nn.inc), created at its first convolution,
  // and the algorithm chosen for each convolution shape and pass.
  void *dnn = nullptr;
  bool dnn_failed = false;
  std::string dnn_error;
  std::unordered_map<std::string, std::pair<int, size_t>> dnn_algos;
};

/** Frees device_nn.inc's part of a Context (defined there). */
void release_device_nn(Context *c);

/** The calling thread's state; null until ensure_context() succeeds on this thread. */
thread_local Context *t_ctx = nullptr;

/** Waits for the context's work, then frees everything it holds (errors are ignored). */
void destroy_context(Context *c) {
  if (c->stream) cudaStreamSynchronize(c->stream);
  c->reduce_scratch.release();
  c->histograms.release();
  c->select_state.release();
  c->chunks.release();
  c->chunk_counts.release();
  c->chunk_norms.release();
  c->segment_norms.release();
  release_device_nn(c);
  if (c->pinned) cudaFreeHost(c->pinned);
  for (UploadSlot &slot : c->uploads) {
    if (slot.host) cudaFreeHost(slot.host);
    if (slot.done) cudaEventDestroy(slot.done);
  }
  if (c->timer_start) cudaEventDestroy(c->timer_start);
  if (c->timer_stop) cudaEventDestroy(c->timer_stop);
  if (c->stream) cudaStreamDestroy(c->stream);
  delete c;
}

/** The process once, then this thread's state; after success `ctx()` is valid. */
cudaError_t ensure_context() {
  if (t_ctx) return cudaSuccess;
  std::call_once(g_process_once, init_process);
  if (g_process.status != cudaSuccess) return g_process.status;
  Context *c = new Context();
  // The runtime's current device is per thread: make it the process's on this one too.
  cudaError_t err = cudaSetDevice(g_process.device);
  if (err == cudaSuccess) err = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
  if (err == cudaSuccess) err = cudaEventCreate(&c->timer_start);
  if (err == cudaSuccess) err = cudaEventCreate(&c->timer_stop);
  if (err == cudaSuccess) err = c->reduce_scratch.reserve(kReduceScratchBytes, c->stream);
  if (err == cudaSuccess) {
    err = cudaMemsetAsync(c->reduce_scratch.ptr, 0, kReduceScratchBytes, c->stream);
  }
  if (err == cudaSuccess) {
    err = c->histograms.reserve(size_t(anneal::kRadixPasses) * anneal::kRadixBins, c->stream);
  }
  if (err == cudaSuccess) err = c->select_state.reserve(1, c->stream);
  if (err == cudaSuccess) err = cudaMallocHost(&c->pinned, kPinnedBytes);
  if (err != cudaSuccess) {
    destroy_context(c);
    return err;
  }
  t_ctx = c;
  return cudaSuccess;
}

/** This thread's state; only after ensure_context() returned cudaSuccess. */
Context &ctx() { return *t_ctx; }

/** The reductions' blocks-done counter in the thread's scratch (see Context). */
unsigned int *reduce_counter(Context &c) {
  return reinterpret_cast<unsigned int *>(c.reduce_scratch.ptr + (kMaxReduceBlocks + 1) * 8);
}

/** Waits for this thread's queued work and copies `bytes` of device memory to the host. */
cudaError_t fetch(void *host_dst, const void *device_src, size_t bytes) {
  Context &c = ctx();
  void *staging = bytes > kPinnedBytes ? host_dst : c.pinned;
  cudaError_t err =
      cudaMemcpyAsync(staging, device_src, bytes, cudaMemcpyDeviceToHost, c.stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(c.stream);
  if (err == cudaSuccess && staging != host_dst) std::memcpy(host_dst, staging, bytes);
  return err;
}

/** Blocks that fill the GPU once for `kernel` (grid-stride loops cover the rest). */
template <class Kernel>
int resident_blocks(Kernel kernel, int threads, size_t shared_bytes = 0) {
  int per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared_bytes) !=
          cudaSuccess ||
      per_sm < 1) {
    per_sm = 1;
  }
  return per_sm * g_process.sms;
}

int grid_for(size_t work_items, int threads, int cap) {
  const size_t wanted = (work_items + threads - 1) / threads;
  return int(std::max<size_t>(1, std::min<size_t>(wanted, size_t(cap))));
}

/** Pairs a copy_batch_kernel launch takes: its table travels as kernel parameters (at most
 *  4 KB; this is 1.2 KB). */
constexpr size_t kCopyBatchPairs = 48;
/** Blocks a pair at most (grid-stride beyond). */
constexpr int kCopyBatchBlocks = 1024;

struct CopyBatch {
  uint8_t *dst[kCopyBatchPairs];
  const uint8_t *src[kCopyBatchPairs];
  uint64_t bytes[kCopyBatchPairs];
};

/** Grid-stride copy of `n` items of type T (16, 4 or 1 bytes). */
template <class T>
__device__ void copy_items(T *dst, const T *src, uint64_t n) {
  const uint64_t stride = uint64_t(gridDim.x) * blockDim.x;
  for (uint64_t i = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    dst[i] = src[i];
  }
}

/** Pair blockIdx.y of the batch, in the widest words both ends and the length allow. */
__global__ void copy_batch_kernel(const CopyBatch batch) {
  uint8_t *dst = batch.dst[blockIdx.y];
  const uint8_t *src = batch.src[blockIdx.y];
  const uint64_t n = batch.bytes[blockIdx.y];
  const uint64_t bits = reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src) | n;
  if ((bits & 15) == 0) {
    copy_items(reinterpret_cast<uint4 *>(dst), reinterpret_cast<const uint4 *>(src), n / 16);
  } else if ((bits & 3) == 0) {
    copy_items(reinterpret_cast<uint32_t *>(dst), reinterpret_cast<const uint32_t *>(src), n / 4);
  } else {
    copy_items(dst, src, n);
  }
}

// ---- block-level building blocks -------------------------------------------------------------

/** Reduction over the block with F::combine; the result is valid in thread 0. */
template <class F>
__device__ typename F::Acc block_reduce(typename F::Acc value) {
  using Acc = typename F::Acc;
  __shared__ Acc warp_values[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) {
    value = F::combine(value, __shfl_down_sync(kFullWarp, value, offset));
  }
  if (lane == 0) warp_values[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < int(blockDim.x >> 5) ? warp_values[lane] : F::identity();
    for (int offset = 16; offset > 0; offset >>= 1) {
      value = F::combine(value, __shfl_down_sync(kFullWarp, value, offset));
    }
  }
  __syncthreads();  // warp_values may be reused by the caller's next reduction
  return value;
}

struct SumU64 {
  using Acc = unsigned long long;
  static __device__ Acc identity() { return 0; }
  static __device__ Acc combine(Acc a, Acc b) { return a + b; }
};

struct SumF64 {
  using Acc = double;
  static __device__ Acc identity() { return 0.0; }
  static __device__ Acc combine(Acc a, Acc b) { return a + b; }
};

/**
 * Exclusive prefix sum over the block (blockDim.x a multiple of 32, at most 1024); `total` gets
 * the block's sum. Callers in a loop need a __syncthreads() before calling it again.
 */
__device__ unsigned long long block_exclusive_scan(unsigned long long value,
                                                   unsigned long long *total) {
  __shared__ unsigned long long warp_totals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  unsigned long long inclusive = value;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const unsigned long long up = __shfl_up_sync(kFullWarp, inclusive, offset);
    if (lane >= offset) inclusive += up;
  }
  if (lane == 31) warp_totals[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    unsigned long long total = lane < int(blockDim.x >> 5) ? warp_totals[lane] : 0;
    for (int offset = 1; offset < 32; offset <<= 1) {
      const unsigned long long up = __shfl_up_sync(kFullWarp, total, offset);
      if (lane >= offset) total += up;
    }
    warp_totals[lane] = total;
  }
  __syncthreads();
  *total = warp_totals[(blockDim.x >> 5) - 1];
  return inclusive - value + (warp > 0 ? warp_totals[warp - 1] : 0);
}

// ---- element-wise maps and reductions --------------------------------------------------------

/** This thread's share of a grid-stride map (quads first when aligned). */
template <class F>
__device__ __forceinline__ void map_share(const F &f, size_t n, bool aligned) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t first = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  size_t done = 0;
  if (aligned) {
    const size_t quads = n / 4;
    for (size_t q = first; q < quads; q += stride) f.template run<4>(q * 4);
    done = quads * 4;
  }
  for (size_t i = done + first; i < n; i += stride) f.template run<1>(i);
}

template <class F>
__global__ void __launch_bounds__(kThreads) map_kernel(const F f, size_t n, bool aligned) {
  map_share(f, n, aligned);
}

/**
 * A map behind a step gate in device memory: every thread reads the gate itself (two floats,
 * served from cache after the first block) and returns, or recounts its copy of the functor,
 * so the host never waits for the verdict. Thread 0 of block 0 counts a skip (the others, also
 * skipping, never read that count).
 */
template <class F>
__global__ void __launch_bounds__(kThreads)
    gated_map_kernel(F f, size_t n, bool aligned, const anneal_gate gate) {
  if (!anneal::pass_gate(f, gate, gate.vector, blockIdx.x == 0 && threadIdx.x == 0)) return;
  map_share(f, n, aligned);
}

template <class F>
int run_map(const F &f, size_t n, bool aligned) {
  if (n == 0) return 0;
  ANNEAL_TRY(ensure_context());
  // Per functor type (its register use sets the occupancy); a magic static: thread-safe.
  static const int cap = resident_blocks(map_kernel<F>, kThreads);
  const int grid = grid_for(aligned ? (n + 3) / 4 : n, kThreads, cap);
  map_kernel<F><<<grid, kThreads, 0, ctx().stream>>>(f, n, aligned);
  return int(cudaGetLastError());
}

template <class F>
int run_gated_map(F f, size_t n, bool aligned, const anneal_gate *gate) {
  if (!gate || !gate->vector) return run_map(f, n, aligned);
  if (n == 0) return 0;
  ANNEAL_TRY(ensure_context());
  static const int cap = resident_blocks(gated_map_kernel<F>, kThreads);
  const int grid = grid_for(aligned ? (n + 3) / 4 : n, kThreads, cap);
  gated_map_kernel<F><<<grid, kThreads, 0, ctx().stream>>>(f, n, aligned, *gate);
  return int(cudaGetLastError());
}

/** Where a reduction's total goes: a result slot (read back by run_reduce, or by a kernel). */
template <class Acc>
struct ResultSink {
  Acc *result;
  __device__ void operator()(Acc total) const { *result = total; }
};

/** anneal_gate_non_finite's total: the gate's verdict, recorded on the device. */
struct GateSink {
  float *gate;
  double step;
  __device__ void operator()(unsigned long long non_finite) const {
    anneal::gate_record(gate, non_finite > 0 || anneal::is_non_finite(gate[4]), step);
  }
};

/**
 * One launch per reduction: each block writes its partial; the block that finishes last (an
 * integer counter, after a fence) sums all partials in a fixed order (thread t takes partials
 * t, t + blockDim.x, ..., then the block tree: the order of the former second kernel), writes
 * the result and resets the counter for the next launch on the stream. No float atomics: the
 * same bits whichever block is last.
 */
template <class F, class Sink>
__global__ void __launch_bounds__(kThreads)
    reduce_kernel(const F f, size_t n, bool aligned, typename F::Acc *partials, const Sink sink,
                  unsigned int *blocks_done) {
  __shared__ bool last_block;
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t first = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  typename F::Acc acc = F::identity();
  size_t done = 0;
  if (aligned) {
    const size_t quads = n / 4;
    for (size_t q = first; q < quads; q += stride) f.template run<4>(q * 4, acc);
    done = quads * 4;
  }
  for (size_t i = done + first; i < n; i += stride) f.template run<1>(i, acc);
  acc = block_reduce<F>(acc);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = acc;
    __threadfence();  // the partial is visible device-wide before this block is counted
    last_block = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  typename F::Acc total = F::identity();
  // __ldcg: read the other blocks' partials from L2, never from a stale L1 line.
  for (unsigned i = threadIdx.x; i < gridDim.x; i += blockDim.x) {
    total = F::combine(total, __ldcg(partials + i));
  }
  total = block_reduce<F>(total);
  if (threadIdx.x == 0) {
    sink(total);
    *blocks_done = 0;
  }
}

/**
 * Queues the reduction of f over n elements on this thread's stream; *result points at the
 * device slot that will hold it (this thread's scratch). n > 0; after ensure_context().
 */
template <class F, class Sink>
cudaError_t launch_reduce_into(const F &f, size_t n, bool aligned, const Sink &sink) {
  using Acc = typename F::Acc;
  static_assert(sizeof(Acc) <= 8, "reduce scratch holds 8-byte partials");
  static const int cap =
      std::min(resident_blocks(reduce_kernel<F, Sink>, kThreads), kMaxReduceBlocks);
  const int grid = grid_for(aligned ? (n + 3) / 4 : n, kThreads, cap);
  Context &c = ctx();
  Acc *partials = reinterpret_cast<Acc *>(c.reduce_scratch.ptr);
  reduce_kernel<F, Sink><<<grid, kThreads, 0, c.stream>>>(f, n, aligned, partials, sink,
                                                          reduce_counter(c));
  return cudaGetLastError();
}

template <class F>
cudaError_t launch_reduce(const F &f, size_t n, bool aligned, typename F::Acc **result) {
  using Acc = typename F::Acc;
  *result = reinterpret_cast<Acc *>(ctx().reduce_scratch.ptr) + kMaxReduceBlocks;
  return launch_reduce_into(f, n, aligned, ResultSink<Acc>{*result});
}

template <class F>
int run_reduce(const F &f, size_t n, bool aligned, typename F::Acc *out) {
  using Acc = typename F::Acc;
  *out = F::identity();
  if (n == 0) return 0;
  ANNEAL_TRY(ensure_context());
  Acc *result = nullptr;
  ANNEAL_TRY(launch_reduce(f, n, aligned, &result));
  return int(fetch(out, result, sizeof(Acc)));
}

/**
 * The scaling step of global-norm clipping, reading the sum of squares from the device:
 * coef = max_norm / (sqrt(ss) + 1e-6) in float64 (IEEE sqrt and division, as the host and js
 * compute it), and x *= (float)coef only when coef < 1. Every thread computes coef itself;
 * the first also writes the norm to norm_out when given.
 */
__global__ void __launch_bounds__(kThreads)
    clip_scale_kernel(float *x, size_t n, bool aligned, const double *sum_squares,
                      double max_norm, float *norm_out) {
  const double norm = sqrt(*sum_squares);
  if (norm_out && blockIdx.x == 0 && threadIdx.x == 0) *norm_out = float(norm);
  const double coef = max_norm / (norm + 1e-6);
  if (!(coef < 1.0)) return;
  const anneal::ScaleOp op{x, float(coef)};
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t first = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  size_t done = 0;
  if (aligned) {
    const size_t quads = n / 4;
    for (size_t q = first; q < quads; q += stride) op.run<4>(q * 4);
    done = quads * 4;
  }
  for (size_t i = done + first; i < n; i += stride) op.run<1>(i);
}

// ---- segments --------------------------------------------------------------------------------

/**
 * Cuts each range into chunks: an unaligned head (< 4 elements), aligned body chunks of at most
 * kChunkElements, and a tail (< 4), so that all but the tiny ends take the float4 path.
 */
std::vector<Chunk> build_chunks(const anneal_range *ranges, size_t count) {
  std::vector<Chunk> chunks;
  auto push = [&](uint64_t start, uint64_t end, uint32_t segment) {
    if (end > start) {
      chunks.push_back(Chunk{start, end, segment, uint32_t(((start | end) & 3) == 0)});
    }
  };
  for (size_t s = 0; s < count; ++s) {
    const uint64_t start = ranges[s].offset, end = start + ranges[s].length;
    const uint64_t body_start = std::min(end, (start + 3) & ~uint64_t(3));
    const uint64_t body_end = std::max(body_start, end & ~uint64_t(3));
    push(start, body_start, uint32_t(s));
    for (uint64_t c = body_start; c < body_end; c += kChunkElements) {
      push(c, std::min(body_end, c + kChunkElements), uint32_t(s));
    }
    push(body_end, end, uint32_t(s));
  }
  return chunks;
}

bool same_chunks(const std::vector<Chunk> &a, const std::vector<Chunk> &b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(Chunk)) == 0);
}

/**
 * Puts the chunk table on this thread's device copy unless the same table is already there.
 * Ordered on the stream after the work that read the previous table; a copy from pageable
 * memory returns once the source has been staged, so `chunks` may go right after.
 */
cudaError_t upload_chunks(const std::vector<Chunk> &chunks) {
  Context &c = ctx();
  if (same_chunks(chunks, c.uploaded_chunks)) return cudaSuccess;
  c.uploaded_chunks.clear();
  cudaError_t err = c.chunks.reserve(chunks.size(), c.stream);
  if (err == cudaSuccess && !chunks.empty()) {
    err = cudaMemcpyAsync(c.chunks.ptr, chunks.data(), chunks.size() * sizeof(Chunk),
                          cudaMemcpyHostToDevice, c.stream);
  }
  if (err == cudaSuccess) c.uploaded_chunks = chunks;
  return err;
}

/** Visits every element of a chunk as (index, value) with float4 loads when the chunk allows. */
template <class Visit>
__device__ void for_each_in_chunk(const float *x, const Chunk &chunk, Visit visit) {
  if (chunk.vec) {
    const float4 *x4 = reinterpret_cast<const float4 *>(x);
    for (uint64_t q = chunk.start / 4 + threadIdx.x; q < chunk.end / 4; q += blockDim.x) {
      const float4 v = x4[q];
      visit(q * 4, v.x);
      visit(q * 4 + 1, v.y);
      visit(q * 4 + 2, v.z);
      visit(q * 4 + 3, v.w);
    }
  } else {
    for (uint64_t i = chunk.start + threadIdx.x; i < chunk.end; i += blockDim.x) visit(i, x[i]);
  }
}

/** Pass 1 of the per-segment norms: each chunk's ||x||^2 and ||d||^2 into its own slot. */
__global__ void __launch_bounds__(kThreads)
    chunk_norms_kernel(const float *x, const Chunk *chunks, size_t nchunks,
                       anneal_random_spec spec, anneal::SegmentNorms *partials) {
  for (size_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk chunk = chunks[c];
    double xx = 0.0, dd = 0.0;
    for_each_in_chunk(x, chunk, [&](uint64_t i, float value) {
      const double d = anneal::sample(spec, uint32_t(i));
      xx += double(value) * value;
      dd += d * d;
    });
    xx = block_reduce<SumF64>(xx);
    dd = block_reduce<SumF64>(dd);
    if (threadIdx.x == 0) partials[c] = anneal::SegmentNorms{xx, dd};
  }
}

/** The first chunk of segment `s` or later (build_chunks emits the segments' chunks in order). */
__device__ size_t first_chunk_of(const Chunk *chunks, size_t nchunks, uint32_t s) {
  size_t lo = 0, hi = nchunks;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (chunks[mid].segment < s) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/**
 * Pass 2: each segment's norms from its chunks' partials, one block per segment, always in the
 * same order (thread t takes chunks t, t + blockDim.x, ..., then the fixed block tree), so the
 * result does not depend on which blocks ran first: no float atomics, the same bits every run.
 */
__global__ void __launch_bounds__(kThreads)
    segment_norms_finish_kernel(const anneal::SegmentNorms *partials, const Chunk *chunks,
                                size_t nchunks, size_t nsegs, anneal::SegmentNorms *norms) {
  for (size_t s = blockIdx.x; s < nsegs; s += gridDim.x) {
    const size_t begin = first_chunk_of(chunks, nchunks, uint32_t(s));
    const size_t end = first_chunk_of(chunks, nchunks, uint32_t(s + 1));
    double xx = 0.0, dd = 0.0;
    for (size_t c = begin + threadIdx.x; c < end; c += blockDim.x) {
      xx += partials[c].xx;
      dd += partials[c].dd;
    }
    xx = block_reduce<SumF64>(xx);
    dd = block_reduce<SumF64>(dd);
    if (threadIdx.x == 0) norms[s] = anneal::SegmentNorms{xx, dd};
  }
}

__global__ void __launch_bounds__(kThreads)
    segment_perturb_kernel(float *x, const Chunk *chunks, size_t nchunks, float sigma,
                           anneal_random_spec spec, const anneal::SegmentNorms *norms) {
  for (size_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk chunk = chunks[c];
    const anneal::SegmentNorms n = norms[chunk.segment];
    const float scale = n.dd > 0.0 ? float(sigma * sqrt(n.xx) / sqrt(n.dd)) : 0.0f;
    const anneal::PerturbOp op{x, scale, spec};
    for (uint64_t i = chunk.start + threadIdx.x; i < chunk.end; i += blockDim.x) op.run<1>(i);
  }
}

int perturb_segments(float *x, size_t, float sigma, const anneal_random_spec &spec,
                     const anneal_range *segs, size_t nsegs) {
  ANNEAL_TRY(ensure_context());
  const std::vector<Chunk> chunks = build_chunks(segs, nsegs);
  if (chunks.empty()) return 0;
  ANNEAL_TRY(upload_chunks(chunks));
  Context &c = ctx();
  ANNEAL_TRY(c.chunk_norms.reserve(chunks.size(), c.stream));
  ANNEAL_TRY(c.segment_norms.reserve(nsegs, c.stream));
  static const int cap = resident_blocks(chunk_norms_kernel, kThreads);
  static const int finish_cap = resident_blocks(segment_norms_finish_kernel, kThreads);
  const int grid = int(std::min<size_t>(chunks.size(), size_t(cap)));
  const int finish_grid = int(std::min<size_t>(nsegs, size_t(finish_cap)));
  chunk_norms_kernel<<<grid, kThreads, 0, c.stream>>>(x, c.chunks.ptr, chunks.size(), spec,
                                                      c.chunk_norms.ptr);
  segment_norms_finish_kernel<<<finish_grid, kThreads, 0, c.stream>>>(
      c.chunk_norms.ptr, c.chunks.ptr, chunks.size(), nsegs, c.segment_norms.ptr);
  segment_perturb_kernel<<<grid, kThreads, 0, c.stream>>>(x, c.chunks.ptr, chunks.size(), sigma,
                                                          spec, c.segment_norms.ptr);
  return int(cudaGetLastError());
}

// ---- magnitude selection ---------------------------------------------------------------------

__global__ void select_init_kernel(SelectState *state, unsigned long long count) {
  *state = SelectState{count, 0, 0u, 0u};
}

/**
 * Histogram of the pass's digit over the entries whose higher digits match the prefix chosen
 * so far. In the first pass most |x| share a handful of exponents, so lanes of a warp with the
 * same digit add once (__match_any_sync) instead of queueing on one shared-memory counter; later
 * passes see few, spread-out digits and add directly.
 */
__global__ void __launch_bounds__(kThreads)
    radix_histogram_kernel(const float *x, const Chunk *chunks, size_t nchunks,
                           const SelectState *state, int pass, unsigned long long *histogram) {
  __shared__ unsigned int bins[anneal::kRadixBins];
  for (int b = threadIdx.x; b < anneal::kRadixBins; b += blockDim.x) bins[b] = 0;
  __syncthreads();
  const uint32_t high_mask = anneal::radix_high_mask(pass);
  const uint32_t prefix = state->prefix;
  const int lane = threadIdx.x & 31;
  const bool aggregate = pass == 0;
  auto count = [&](bool valid, float value) {
    const uint32_t key = anneal::magnitude_key(value);
    const bool active = valid && (key & high_mask) == prefix;
    const uint32_t digit = anneal::radix_digit(key, pass);
    if (!aggregate) {
      if (active) atomicAdd(&bins[digit], 1u);
      return;
    }
    const unsigned peers = __match_any_sync(kFullWarp, active ? digit : 0xFFFFFFFFu);
    if (active && lane == __ffs(peers) - 1) atomicAdd(&bins[digit], unsigned(__popc(peers)));
  };
  for (size_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk chunk = chunks[c];
    // Every lane runs the same iterations (the bounds are per chunk) so warp votes see all 32.
    if (chunk.vec) {
      const float4 *x4 = reinterpret_cast<const float4 *>(x);
      const uint64_t q_end = chunk.end / 4;
      for (uint64_t q0 = chunk.start / 4; q0 < q_end; q0 += blockDim.x) {
        const uint64_t q = q0 + threadIdx.x;
        const bool valid = q < q_end;
        const float4 v = valid ? x4[q] : make_float4(0.f, 0.f, 0.f, 0.f);
        count(valid, v.x);
        count(valid, v.y);
        count(valid, v.z);
        count(valid, v.w);
      }
    } else {
      for (uint64_t i0 = chunk.start; i0 < chunk.end; i0 += blockDim.x) {
        const uint64_t i = i0 + threadIdx.x;
        count(i < chunk.end, i < chunk.end ? x[i] : 0.0f);
      }
    }
  }
  __syncthreads();
  for (int b = threadIdx.x; b < anneal::kRadixBins; b += blockDim.x) {
    if (bins[b]) atomicAdd(&histogram[b], (unsigned long long)bins[b]);
  }
}

/** Picks the digit that holds the wanted rank and narrows the state to it (one block). */
__global__ void __launch_bounds__(kSelectThreads)
    radix_select_kernel(const unsigned long long *histogram, SelectState *state, int pass) {
  const unsigned long long rank = state->rank;  // read by all before any write below
  const uint32_t first_bin = 2 * threadIdx.x;
  const unsigned long long h0 = histogram[first_bin], h1 = histogram[first_bin + 1];
  unsigned long long total;
  const unsigned long long before = block_exclusive_scan(h0 + h1, &total);
  uint32_t digit = 0;
  unsigned long long below = 0, in_bin = 0;
  bool mine = false;
  if (before < rank && rank <= before + h0) {
    mine = true;
    digit = first_bin;
    below = before;
    in_bin = h0;
  } else if (before + h0 < rank && rank <= before + h0 + h1) {
    mine = true;
    digit = first_bin + 1;
    below = before + h0;
    in_bin = h1;
  }
  if (mine) {
    state->prefix |= digit << anneal::radix_shift(pass);
    state->rank = rank - below;
    state->eq_total = in_bin;
  }
}

__global__ void __launch_bounds__(kThreads)
    count_equal_kernel(const float *x, const Chunk *chunks, size_t nchunks, uint32_t key,
                       unsigned long long *counts) {
  for (size_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    unsigned long long equal = 0;
    for_each_in_chunk(x, chunks[c], [&](uint64_t, float value) {
      equal += anneal::magnitude_key(value) == key ? 1 : 0;
    });
    equal = block_reduce<SumU64>(equal);
    if (threadIdx.x == 0) counts[c] = equal;
  }
}

/**
 * mask = 0 below the threshold key, 1 above; entries equal to it are 0 in chunks before
 * `boundary`, 1 after it, and in the boundary chunk the first `boundary_rank` of them (in index
 * order, by a block-wide scan) are 0.
 */
__global__ void __launch_bounds__(kThreads)
    magnitude_mask_kernel(const float *x, float *mask, const Chunk *chunks, size_t nchunks,
                          uint32_t threshold_key, long long boundary,
                          unsigned long long boundary_rank) {
  for (size_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk chunk = chunks[c];
    if (static_cast<long long>(c) != boundary) {
      const bool ties_zero = static_cast<long long>(c) < boundary;
      auto decide = [&](float value) {
        const uint32_t key = anneal::magnitude_key(value);
        return (key < threshold_key || (ties_zero && key == threshold_key)) ? 0.0f : 1.0f;
      };
      if (chunk.vec) {
        const float4 *x4 = reinterpret_cast<const float4 *>(x);
        float4 *mask4 = reinterpret_cast<float4 *>(mask);
        for (uint64_t q = chunk.start / 4 + threadIdx.x; q < chunk.end / 4; q += blockDim.x) {
          const float4 v = x4[q];
          mask4[q] = make_float4(decide(v.x), decide(v.y), decide(v.z), decide(v.w));
        }
      } else {
        for (uint64_t i = chunk.start + threadIdx.x; i < chunk.end; i += blockDim.x) {
          mask[i] = decide(x[i]);
        }
      }
      continue;
    }
    // The boundary chunk: threshold-equal entries are ranked in index order, four consecutive
    // entries per thread, and the first boundary_rank of them are zeroed.
    unsigned long long seen = 0;  // equal entries before this tile, the same in every thread
    for (uint64_t tile = chunk.start; tile < chunk.end; tile += 4 * uint64_t(blockDim.x)) {
      const uint64_t first = tile + 4 * uint64_t(threadIdx.x);
      uint32_t keys[4];
      unsigned long long equal = 0;
      for (int j = 0; j < 4; ++j) {
        // 0xFFFFFFFF is above every key (the sign bit is cleared), so padding never ties.
        keys[j] = first + j < chunk.end ? anneal::magnitude_key(x[first + j]) : 0xFFFFFFFFu;
        equal += keys[j] == threshold_key ? 1 : 0;
      }
      unsigned long long tile_equal;
      unsigned long long rank = seen + block_exclusive_scan(equal, &tile_equal);
      for (int j = 0; j < 4; ++j) {
        if (first + j >= chunk.end) break;
        const bool tie = keys[j] == threshold_key;
        mask[first + j] = (keys[j] < threshold_key || (tie && rank < boundary_rank)) ? 0.0f : 1.0f;
        if (tie) ++rank;
      }
      seen += tile_equal;
      __syncthreads();  // block_exclusive_scan's shared totals are rewritten by the next tile
    }
  }
}

__global__ void probe_kernel(float *out) { *out = 1.0f; }

}  // namespace

#include "api_common.inc"

extern "C" {

const char *anneal_backend_name(void) { return "cuda"; }

int anneal_set_threads(int) { return 1; }

int anneal_probe(char *name, size_t name_capacity) {
  int count = 0;
  ANNEAL_TRY(cudaGetDeviceCount(&count));
  if (count == 0) return int(cudaErrorNoDevice);
  cudaDeviceProp prop;
  ANNEAL_TRY(cudaGetDeviceProperties(&prop, 0));
  if (name && name_capacity > 0) {
    std::snprintf(name, name_capacity, "%s (sm_%d%d, %.0f GiB)", prop.name, prop.major,
                  prop.minor, double(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  }
  ANNEAL_TRY(ensure_context());
  // A launch proves this binary carries code the GPU can run (else error 209, no kernel image).
  Context &c = ctx();
  probe_kernel<<<1, 1, 0, c.stream>>>(reinterpret_cast<float *>(c.reduce_scratch.ptr));
  ANNEAL_TRY(cudaGetLastError());
  return int(cudaStreamSynchronize(c.stream));
}

const char *anneal_error_string(int code) { return cudaGetErrorString(cudaError_t(code)); }

const char *anneal_error_name(int code) { return cudaGetErrorName(cudaError_t(code)); }

/** n floats on this thread's stream; zeroed (a memset queued after it) when `zeroed`. */
static int allocate(float **out, size_t n, bool zeroed) {
  *out = nullptr;
  ANNEAL_TRY(ensure_context());
  const size_t bytes = std::max<size_t>(n, 1) * sizeof(float);
  Context &c = ctx();
  // Stream-ordered where the device has memory pools: the allocation is ordered with this
  // thread's work, and its free (anneal_free) needs no device-wide synchronisation.
  if (g_process.pools) {
    ANNEAL_TRY(cudaMallocAsync(reinterpret_cast<void **>(out), bytes, c.stream));
  } else {
    ANNEAL_TRY(cudaMalloc(out, bytes));
  }
  return zeroed ? int(cudaMemsetAsync(*out, 0, bytes, c.stream)) : 0;
}

int anneal_alloc(float **out, size_t n) { return allocate(out, n, true); }

int anneal_alloc_uninitialized(float **out, size_t n) { return allocate(out, n, false); }

/*
 * A vector is used only by the thread that owns it (one Node environment per thread), so its
 * queued work is on this thread's stream. With memory pools the free is queued on that stream
 * (cudaFreeAsync: it happens after that work, and the caller, often a GC finalizer, never
 * waits). Without pools, or once the thread's state is gone (environment teardown), it waits for
 * the stream and uses cudaFree, which also synchronises the device.
 */
int anneal_free(float *p) {
  if (!p) return 0;
  if (t_ctx && g_process.pools) return int(cudaFreeAsync(p, t_ctx->stream));
  if (t_ctx) ANNEAL_TRY(cudaStreamSynchronize(t_ctx->stream));
  return int(cudaFree(p));
}

int anneal_release_thread(void) {
  if (!t_ctx) return 0;
  destroy_context(t_ctx);
  t_ctx = nullptr;
  return 0;
}

// Copies go on this thread's stream, so they are ordered with its kernels (a non-blocking
// stream does not synchronise with the legacy stream that cudaMemcpy would use). An upload
// from pageable memory returns once the source has been staged; a download waits for it.
int anneal_upload_bytes(void *dst, const void *host_src, size_t bytes) {
  if (bytes == 0) return 0;
  ANNEAL_TRY(ensure_context());
  Context &c = ctx();
  if (bytes > kMaxStagedUpload) {
    return int(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, c.stream));
  }
  UploadSlot &slot = c.uploads[c.next_upload];
  c.next_upload = (c.next_upload + 1) % kUploadSlots;
  if (slot.done) ANNEAL_TRY(cudaEventSynchronize(slot.done));  // its last copy has left it
  if (slot.capacity < bytes) {
    // At least 1 MiB, and doubling, so that a run's batches settle on one allocation.
    const size_t capacity = std::max(bytes, std::max(size_t(1) << 20, 2 * slot.capacity));
    if (slot.host) ANNEAL_TRY(cudaFreeHost(slot.host));
    slot.host = nullptr;
    slot.capacity = 0;
    ANNEAL_TRY(cudaMallocHost(&slot.host, capacity));
    slot.capacity = capacity;
  }
  if (!slot.done) ANNEAL_TRY(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
  std::memcpy(slot.host, host_src, bytes);
  ANNEAL_TRY(cudaMemcpyAsync(dst, slot.host, bytes, cudaMemcpyHostToDevice, c.stream));
  return int(cudaEventRecord(slot.done, c.stream));
}

int anneal_download_bytes(void *host_dst, const void *src, size_t bytes) {
  if (bytes == 0) return 0;
  ANNEAL_TRY(ensure_context());
  Context &c = ctx();
  ANNEAL_TRY(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, c.stream));
  return int(cudaStreamSynchronize(c.stream));
}

int anneal_copy_bytes(void *dst, const void *src, size_t bytes) {
  if (bytes == 0 || dst == src) return 0;
  ANNEAL_TRY(ensure_context());
  return int(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx().stream));
}

int anneal_copy_batch(void *const *dsts, const void *const *srcs, const size_t *bytes,
                      size_t count) {
  ANNEAL_TRY(ensure_context());
  for (size_t first = 0; first < count; first += kCopyBatchPairs) {
    CopyBatch batch{};
    size_t largest = 0;
    int pairs = 0;
    for (size_t i = first; i < std::min(count, first + kCopyBatchPairs); ++i) {
      if (bytes[i] == 0 || dsts[i] == srcs[i]) continue;
      batch.dst[pairs] = static_cast<uint8_t *>(dsts[i]);
      batch.src[pairs] = static_cast<const uint8_t *>(srcs[i]);
      batch.bytes[pairs] = bytes[i];
      largest = std::max(largest, bytes[i]);
      ++pairs;
    }
    if (pairs == 0) continue;
    // Blocks for the largest pair (16 bytes a thread a pass); a smaller pair's extra blocks
    // find nothing to do and exit.
    const dim3 grid(unsigned(grid_for((largest + 15) / 16, kThreads, kCopyBatchBlocks)),
                    unsigned(pairs));
    copy_batch_kernel<<<grid, kThreads, 0, ctx().stream>>>(batch);
    ANNEAL_TRY(cudaGetLastError());
  }
  return 0;
}

/** Waits for this thread's work only (other threads' streams go on). */
int anneal_synchronize(void) {
  ANNEAL_TRY(ensure_context());
  return int(cudaStreamSynchronize(ctx().stream));
}

int anneal_timer_start(void) {
  ANNEAL_TRY(ensure_context());
  return int(cudaEventRecord(ctx().timer_start, ctx().stream));
}

int anneal_timer_stop(float *elapsed_ms) {
  ANNEAL_TRY(ensure_context());
  Context &c = ctx();
  ANNEAL_TRY(cudaEventRecord(c.timer_stop, c.stream));
  ANNEAL_TRY(cudaEventSynchronize(c.timer_stop));
  return int(cudaEventElapsedTime(elapsed_ms, c.timer_start, c.timer_stop));
}

/** Queues the clipping of g; *sum_squares points at the device slot of its sum of squares. */
static cudaError_t launch_clip(float *g, size_t n, double max_norm, float *norm_out,
                               double **sum_squares) {
  const bool aligned = aligned16(g);
  const cudaError_t err = launch_reduce(anneal::SumSquaresOp{g}, n, aligned, sum_squares);
  if (err != cudaSuccess) return err;
  static const int cap = resident_blocks(clip_scale_kernel, kThreads);
  const int grid = grid_for(aligned ? (n + 3) / 4 : n, kThreads, cap);
  clip_scale_kernel<<<grid, kThreads, 0, ctx().stream>>>(g, n, aligned, *sum_squares, max_norm,
                                                         norm_out);
  return cudaGetLastError();
}

int anneal_clip_by_global_norm(float *g, size_t n, double max_norm, double *norm) {
  *norm = 0.0;
  if (n == 0) return 0;  // nothing to scale; the norm of nothing is 0
  ANNEAL_TRY(ensure_context());
  double *sum_squares = nullptr;
  ANNEAL_TRY(launch_clip(g, n, max_norm, nullptr, &sum_squares));
  double ss = 0.0;
  ANNEAL_TRY(fetch(&ss, sum_squares, sizeof(ss)));
  *norm = std::sqrt(ss);
  return 0;
}

int anneal_clip_by_global_norm_into(float *g, size_t n, double max_norm, float *norm_out) {
  ANNEAL_TRY(ensure_context());
  if (n == 0) return int(cudaMemsetAsync(norm_out, 0, sizeof(float), ctx().stream));
  double *sum_squares = nullptr;
  return int(launch_clip(g, n, max_norm, norm_out, &sum_squares));
}

int anneal_gate_non_finite(float *gate, const float *x, size_t n, double step) {
  ANNEAL_TRY(ensure_context());
  // n == 0 still launches one block: the checked value gate[4] alone decides.
  return int(launch_reduce_into(anneal::CountNonFiniteOp{x}, n, aligned16(x), GateSink{gate, step}));
}

int anneal_magnitude_mask(const float *x, float *mask, size_t, const anneal_range *segs,
                          size_t nsegs, uint64_t count, float *threshold) {
  *threshold = 0.0f;
  const std::vector<anneal_range> ranges = anneal::merged_ranges(segs, nsegs);
  if (count > anneal::total_length(ranges)) return int(cudaErrorInvalidValue);
  if (ranges.empty()) return 0;
  ANNEAL_TRY(ensure_context());
  const std::vector<Chunk> chunks = build_chunks(ranges.data(), ranges.size());
  ANNEAL_TRY(upload_chunks(chunks));
  Context &c = ctx();
  const cudaStream_t stream = c.stream;
  const Chunk *device_chunks = c.chunks.ptr;
  const size_t nchunks = chunks.size();

  static const int hist_cap = resident_blocks(radix_histogram_kernel, kThreads);
  static const int mask_cap = resident_blocks(magnitude_mask_kernel, kThreads);
  const int mask_grid = int(std::min<size_t>(nchunks, size_t(mask_cap)));

  if (count == 0) {  // nothing below key 0, ties all kept: every mask entry becomes 1
    magnitude_mask_kernel<<<mask_grid, kThreads, 0, stream>>>(x, mask, device_chunks, nchunks,
                                                              0u, -1, 0);
    return int(cudaGetLastError());
  }

  unsigned long long *histograms = c.histograms.ptr;
  SelectState *state = c.select_state.ptr;
  ANNEAL_TRY(cudaMemsetAsync(histograms, 0,
                             sizeof(unsigned long long) * anneal::kRadixPasses * anneal::kRadixBins,
                             stream));
  select_init_kernel<<<1, 1, 0, stream>>>(state, count);
  const int hist_grid = int(std::min<size_t>(nchunks, size_t(hist_cap)));
  for (int pass = 0; pass < anneal::kRadixPasses; ++pass) {
    unsigned long long *histogram = histograms + size_t(pass) * anneal::kRadixBins;
    radix_histogram_kernel<<<hist_grid, kThreads, 0, stream>>>(x, device_chunks, nchunks, state,
                                                                pass, histogram);
    radix_select_kernel<<<1, kSelectThreads, 0, stream>>>(histogram, state, pass);
  }
  ANNEAL_TRY(cudaGetLastError());
  SelectState selected;
  ANNEAL_TRY(fetch(&selected, state, sizeof(SelectState)));

  // All entries equal to the threshold are zeroed unless only some of them are needed; then
  // per-chunk counts locate the chunk where the lowest-index-first cut falls.
  long long boundary = (long long)nchunks;
  unsigned long long boundary_rank = 0;
  if (selected.rank < selected.eq_total) {
    ANNEAL_TRY(c.chunk_counts.reserve(nchunks, c.stream));
    count_equal_kernel<<<hist_grid, kThreads, 0, stream>>>(x, device_chunks, nchunks,
                                                           selected.prefix, c.chunk_counts.ptr);
    ANNEAL_TRY(cudaGetLastError());
    std::vector<unsigned long long> counts(nchunks);
    ANNEAL_TRY(fetch(counts.data(), c.chunk_counts.ptr, nchunks * sizeof(counts[0])));
    unsigned long long before = 0;
    for (size_t c = 0; c < nchunks; ++c) {
      if (before + counts[c] >= selected.rank) {
        boundary = (long long)c;
        boundary_rank = selected.rank - before;
        break;
      }
      before += counts[c];
    }
  }
  magnitude_mask_kernel<<<mask_grid, kThreads, 0, stream>>>(x, mask, device_chunks, nchunks,
                                                             selected.prefix, boundary,
                                                             boundary_rank);
  ANNEAL_TRY(cudaGetLastError());
  *threshold = anneal::key_value(selected.prefix);
  return 0;
}

}  // extern "C"

// The tfjs backend's CUDA device (anneal_device.h), on this build's run_map.
#include "device_common.inc"
#include "device_nn.inc"
#include "device_elementwise.inc"
