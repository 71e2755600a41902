/*
 * anneal kernels: a plain C ABI over flat float32 vectors. Two implementations sit behind it:
 * kernels.cu (CUDA; pointers are device memory) and kernels_cpu.cpp (host loops; pointers are
 * host memory). Both run the same per-element math from elementwise.cuh, so the CPU build tests
 * the GPU build's arithmetic where no GPU is present. No N-API here: native/binding wraps this.
 *
 * Every function returns 0 on success or an error code (a cudaError_t value on the CUDA build;
 * anneal_error_string() describes it). Work is queued in order on the calling thread's stream
 * (the CUDA build keeps one cudaStreamNonBlocking stream, scratch, staging and chunk table per
 * thread: one Node environment, main or worker, runs on one thread); functions that return a
 * value to the host wait for that stream only. A vector belongs to the thread that allocated it.
 */
#ifndef ANNEAL_KERNELS_H
#define ANNEAL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device ------------------------------------------------------------------------------- */

/** "cuda" or "host". */
const char *anneal_backend_name(void);
/** 0 when a device answers (its name is written to `name`), else the error that stopped it. */
int anneal_probe(char *name, size_t name_capacity);
/** Text of an error code returned by any function here. */
const char *anneal_error_string(int code);
/** The symbolic name of an error code (e.g. "cudaErrorInsufficientDriver"). */
const char *anneal_error_name(int code);

/**
 * Threads of the host build's loops (n >= 1; 0: every core); returns the count now in effect.
 * The CUDA build has no host loops: it ignores n and returns 1.
 */
int anneal_set_threads(int n);

/** n zeroed floats (at least one is allocated, so the pointer is unique). */
int anneal_alloc(float **out, size_t n);
/**
 * n floats for a caller that writes every value before reading any (the tfjs backend's kernel
 * outputs): no zeroing pass, and on the GPU no memset launch. The host build fills them with
 * 0xFF bytes (NaN, -1, 255) instead, so that a kernel which leaves a value unwritten shows in
 * the tests rather than reading as 0.
 */
int anneal_alloc_uninitialized(float **out, size_t n);
int anneal_free(float *p);
/* Transfers count bytes (vectors of any dtype: a bool vector's values are single bytes). */
int anneal_upload_bytes(void *dst, const void *host_src, size_t bytes);
int anneal_download_bytes(void *host_dst, const void *src, size_t bytes);
int anneal_copy_bytes(void *dst, const void *src, size_t bytes);
/**
 * count copies dsts[i] <- srcs[i] of bytes[i] bytes each, as one launch on the GPU (a model's
 * weights to and from a flat vector: one call instead of one per weight). Pairs must not overlap.
 */
int anneal_copy_batch(void *const *dsts, const void *const *srcs, const size_t *bytes,
                      size_t count);
int anneal_fill(float *x, float value, size_t n);
/** Waits for the work the calling thread queued. */
int anneal_synchronize(void);
/**
 * Frees the calling thread's state (stream, scratch, pinned staging, chunk table, timer events)
 * after its queued work; the next call on the thread creates it again. The binding calls it from
 * its environment-cleanup hook, so a worker thread that exits leaves nothing behind.
 */
int anneal_release_thread(void);

/* Timing: anneal_timer_stop waits for the work queued since anneal_timer_start and returns the
 * time between them (CUDA events on the GPU build, a host clock on the CPU build). */
int anneal_timer_start(void);
int anneal_timer_stop(float *elapsed_ms);

/* ---- element-wise ------------------------------------------------------------------------ */

int anneal_scale(float *x, float alpha, size_t n);
int anneal_axpy(float *y, float alpha, const float *x, size_t n);
int anneal_mul(float *out, const float *a, const float *b, size_t n);

/** Adam/AdamW (see src/kernels/types.ts); bias corrections are computed on the host. */
typedef struct {
  float lr;
  float beta1;
  float beta2;
  /** 1 - beta1 and 1 - beta2, rounded once from double (1.0f - 0.999f is off by 1.3e-5). */
  float one_minus_beta1;
  float one_minus_beta2;
  float eps;
  float weight_decay;
  /** 1 - beta1^step */
  float bias_correction1;
  /** sqrt(1 - beta2^step) */
  float sqrt_bias_correction2;
  int decoupled;
} anneal_adam_params;

/**
 * A step gate (PyTorch's found_inf, kept where the vectors are): ANNEAL_GATE_LENGTH floats that
 * anneal_gate_non_finite writes and the optimizer steps read, so that a step whose gradient is
 * not finite is skipped without the host waiting for the answer.
 *   [0] the latest check's verdict: 1 when x or the checked value held a NaN or +-Inf, else 0
 *   [1] checks that found one since the gate was zeroed
 *   [2] the step of the first of them + 1 (0: none), [3] the step of the latest + 1
 *   [4] an input: a value checked with x (the Trainer puts the step's loss there)
 *   [5] steps the gated kernels skipped (each adds 1 as it skips; a step the host never ran
 *       is not counted, though its check may have been a hit)
 * Counts and steps are stored as floats: exact below 2^24.
 */
enum { ANNEAL_GATE_LENGTH = 6 };

/**
 * gate[0] = any non-finite value in x[0, n) or in gate[4]; when so, gate[1] += 1 and gate[2]
 * (if 0) and gate[3] become step + 1. One reduction; on the GPU nothing is read back.
 */
int anneal_gate_non_finite(float *gate, const float *x, size_t n, double step);

/**
 * How a gated step reads its gate: when gate[0] != 0 it adds 1 to gate[5] and does nothing else;
 * otherwise gate[5] - settled are skips that the host's step count still includes (the host
 * settles them when it next reads the gate), so it runs as step (step - those skips): Adam's
 * bias corrections from beta1 and beta2, SGD's first step when that is <= 1.
 */
typedef struct {
  /** The gate (ANNEAL_GATE_LENGTH floats), or NULL: no gate. */
  float *vector;
  /** gate[5] when the host last read it. */
  double settled;
  /** The 1-based step the host counted (Adam's step; SGD's step). */
  double step;
  /** Adam only: beta1 and beta2 as the host has them, for recounted bias corrections. */
  double beta1;
  double beta2;
} anneal_gate;

/** vmax, lr_mask and decay_mask may be NULL (no AMSGrad / masks of ones); so may gate. */
int anneal_adam(float *param, const float *grad, float *m, float *v, float *vmax,
                const float *lr_mask, const float *decay_mask, size_t n,
                const anneal_adam_params *h, const anneal_gate *gate);

typedef struct {
  float lr;
  float momentum;
  float dampening;
  float weight_decay;
  int nesterov;
  int decoupled;
  /** step == 1: the momentum buffer is initialised to d. */
  int first_step;
} anneal_sgd_params;

/** buf is neither read nor written (and may be NULL) when momentum == 0. gate may be NULL. */
int anneal_sgd(float *param, const float *grad, float *buf, const float *lr_mask,
               const float *decay_mask, size_t n, const anneal_sgd_params *h,
               const anneal_gate *gate);

int anneal_lookahead_sync(float *slow, float *fast, float alpha, size_t n);

/** Philox key and counter words: key = [seed_lo, seed_hi], counter = [i, stream, 0, 0]. */
typedef struct {
  uint32_t seed_lo;
  uint32_t seed_hi;
  uint32_t stream;
  /** ANNEAL_DIST_* */
  int distribution;
} anneal_random_spec;

enum { ANNEAL_DIST_GAUSSIAN = 0, ANNEAL_DIST_RADEMACHER = 1, ANNEAL_DIST_UNIFORM = 2 };

typedef struct {
  float eta;
  float gamma;
  /** sqrt(eta) * noise */
  float noise_scale;
  float alpha;
  /** gaussian draws; distribution is ignored */
  anneal_random_spec rng;
} anneal_langevin_params;

int anneal_langevin(float *xp, const float *grad, const float *x, float *mu, size_t n,
                    const anneal_langevin_params *h);

/* ---- averaging --------------------------------------------------------------------------- */

/** avg += (x - avg) * inv_count_plus_one */
int anneal_running_mean(float *avg, const float *x, float inv_count_plus_one, size_t n);
int anneal_ema(float *avg, const float *x, float decay, size_t n);
/** out = sum_k weights[k] * xs[k]; xs is a host array of k (device) pointers. */
int anneal_weighted_sum(float *out, const float *const *xs, const float *weights, size_t k,
                        size_t n);
int anneal_lerp(float *out, const float *a, const float *b, float t, size_t n);
int anneal_bezier(float *out, const float *a, const float *bend, const float *b, float t,
                  size_t n);

/* ---- reductions (wait for the result) ---------------------------------------------------- */

int anneal_dot(const float *a, const float *b, size_t n, double *out);
int anneal_sum_squares(const float *x, size_t n, double *out);
int anneal_max_abs(const float *x, size_t n, float *out);
int anneal_count_non_finite(const float *x, size_t n, uint64_t *out);
int anneal_count_zeros(const float *x, size_t n, uint64_t *out);

/**
 * Global-norm clipping in one call: norm = sqrt(sum g^2) (float64, the sum as sumSquares), and
 * when coef = max_norm / (norm + 1e-6) < 1, g *= (float)coef; `norm` receives the norm. The
 * CUDA build computes coef on the device from the reduction's result, so the scaling is queued
 * before the one wait for the norm instead of after a round trip.
 */
int anneal_clip_by_global_norm(float *g, size_t n, double max_norm, double *norm);
/** The same, queued: the norm (as a float) goes to norm_out[0] where the vectors are; no wait. */
int anneal_clip_by_global_norm_into(float *g, size_t n, double max_norm, float *norm_out);

/* ---- randomness, segments, pruning ------------------------------------------------------- */

int anneal_random(float *out, size_t n, const anneal_random_spec *spec);

/** A half-open range [offset, offset + length) of a vector. */
typedef struct {
  uint64_t offset;
  uint64_t length;
} anneal_range;

/**
 * x += sigma * d, d[i] = sample(spec, i). With nsegs > 0 each segment's d is scaled by
 * ||x_seg|| / ||d_seg|| (norms before the update; 0 where ||d_seg|| == 0) and entries outside
 * every segment are left unchanged. Segments must not overlap.
 */
int anneal_perturb(float *x, size_t n, float sigma, const anneal_random_spec *spec,
                   const anneal_range *segs, size_t nsegs);

/**
 * Over the union of `segs` (any order; overlapping ranges count once):
 * mask = 0 for the `count` entries of smallest |x| (ties at the threshold: lowest indices
 * first; NaN counts as largest), mask = 1 for the others. `threshold` receives the largest |x|
 * that was zeroed (0 when count == 0).
 */
int anneal_magnitude_mask(const float *x, float *mask, size_t n, const anneal_range *segs,
                          size_t nsegs, uint64_t count, float *threshold);

#ifdef __cplusplus
}
#endif

#endif /* ANNEAL_KERNELS_H */
