/*
 * The per-element rules of anneal's tfjs devices (anneal_device.h), written once: the arithmetic
 * tfjs-backend-cpu's kernels dictate (NaN rules, which value wins a tie, Erf's formula in double,
 * JavaScript's ToInt32) and the windows its pooling loops walk. The host device's loops
 * (native/host/loops.cpp, indexing.cpp) call these inline functions in their vectorised inner
 * loops; the CUDA device's functors (native/cuda/device_elementwise.inc) call them per element,
 * as __host__ __device__ functions under nvcc, so both devices compute the same values.
 *
 * No build of these files uses -ffast-math, which would break their NaN rules.
 */
#ifndef ANNEAL_ELEMENT_RULES_H
#define ANNEAL_ELEMENT_RULES_H

#include <math.h>
#include <stdint.h>

#include <cmath>
#include <type_traits>

#include "anneal_device.h"

// The same definition as native/cuda/elementwise.cuh's, so that either may come first.
#ifndef ANNEAL_HD
#if defined(__CUDACC__)
#define ANNEAL_HD __host__ __device__ __forceinline__
#else
#define ANNEAL_HD inline
#endif
#endif

namespace anneal_rules {

/** The largest rank of a strided op (binary, compare, pad). */
constexpr int kMaxRank = 6;

/** x != x on the GPU; std::isnan on the host, where GCC vectorises Max / Min's selects with it
 *  (with x != x they ran 1.5x slower). */
ANNEAL_HD bool is_nan(float x) {
#if defined(__CUDA_ARCH__)
  return x != x;
#else
  return std::isnan(x);
#endif
}

/** One anneal_binary op on one pair of values, as tfjs's kernel of that name computes it. */
ANNEAL_HD float binary(int op, float a, float b) {
  switch (op) {
    case ANNEAL_BIN_ADD: return a + b;
    case ANNEAL_BIN_SUB: return a - b;
    case ANNEAL_BIN_MUL: return a * b;
    case ANNEAL_BIN_DIV: return a / b;
    // Math.max / Math.min: NaN wins. A tie of ±0 gives b, where Math.max(0, -0) is 0 and
    // Math.min(-0, 0) is -0: making those exact (and-ing or or-ing the bits of both orders)
    // cost the host's vectorised loop 1.4x, for a sign that no comparison sees.
    case ANNEAL_BIN_MAX: return is_nan(a) || is_nan(b) ? NAN : (a > b ? a : b);
    case ANNEAL_BIN_MIN: return is_nan(a) || is_nan(b) ? NAN : (a < b ? a : b);
    case ANNEAL_BIN_COPY: return a;
    // tfjs's dy * step(x): the product, so that 0 * Infinity is NaN and -dy * 0 is -0 as there.
    case ANNEAL_BIN_RELU_GRAD: return a * (is_nan(b) ? NAN : (b > 0 ? 1.f : 0.f));
    default: {  // ANNEAL_BIN_SQUARED_DIFFERENCE
      const float d = a - b;
      return d * d;
    }
  }
}

/** One anneal_unary op on one value; alpha is Step's value for x <= 0. */
ANNEAL_HD float unary(int op, float x, float alpha) {
  switch (op) {
    case ANNEAL_UN_RELU: return x < 0 ? 0.f : x;  // NaN stays NaN
    case ANNEAL_UN_STEP: return is_nan(x) ? NAN : (x > 0 ? 1.f : alpha);
    case ANNEAL_UN_SQUARE: return x * x;
    case ANNEAL_UN_NEG: return -x;
    case ANNEAL_UN_EXP: return expf(x);
    case ANNEAL_UN_LOG: return logf(x);
    case ANNEAL_UN_SQRT: return sqrtf(x);
    case ANNEAL_UN_RSQRT: return 1.f / sqrtf(x);
    case ANNEAL_UN_SIGMOID: return 1.f / (1.f + expf(-x));
    case ANNEAL_UN_TANH: return tanhf(x);
    case ANNEAL_UN_ERF: {
      // tfjs's formula and constants (backend_util.ERF_*), in double as JavaScript computes it.
      const double v = fabs(double(x)), t = 1.0 / (1.0 + 0.3275911 * v);
      const double poly =
          ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t +
           0.254829592) * t;
      const double e = 1.0 - poly * exp(-v * v);
      return float(x < 0 ? -e : (x > 0 ? e : x));  // Math.sign: erf(±0) = ±0, NaN stays NaN
    }
    default: return fabsf(x);  // ANNEAL_UN_ABS
  }
}

/**
 * A reduction's arithmetic (anneal_reduce): sums accumulate in double (as tfjs's JavaScript
 * numbers do); a maximum or minimum takes a NaN and keeps it (tfjs's rule), and otherwise only a
 * strictly better value, so folding parts in order gives the sequential loop's result.
 */
template <int Op>
struct Fold {
  static constexpr bool kSum = Op == ANNEAL_RED_SUM || Op == ANNEAL_RED_MEAN;
  using Acc = typename std::conditional<kSum, double, float>::type;
  static ANNEAL_HD Acc apply(Acc acc, Acc e) {
    if (kSum) return acc + e;
    const bool better = Op == ANNEAL_RED_MAX ? e > acc : e < acc;
    return is_nan(e) || better ? e : acc;
  }
  static ANNEAL_HD float finish(Acc acc, int64_t count) {
    return float(Op == ANNEAL_RED_MEAN ? acc / double(count) : acc);
  }
};

/**
 * ArgMax / ArgMin's step, as tfjs's loop takes it: the best so far is replaced only by a
 * strictly better value, so the first of equal values wins and a NaN (never better) wins only
 * where it comes first.
 */
template <bool Max, class T>
ANNEAL_HD bool arg_better(T v, T best) {
  return Max ? v > best : v < best;
}

/** One anneal_compare op (1 or 0); any comparison with NaN but NOT_EQUAL is 0, as in JavaScript. */
template <int Op, class T>
ANNEAL_HD uint8_t compare(T a, T b) {
  switch (Op) {
    case ANNEAL_CMP_EQUAL: return a == b;
    case ANNEAL_CMP_NOT_EQUAL: return a != b;
    case ANNEAL_CMP_GREATER: return a > b;
    case ANNEAL_CMP_GREATER_EQUAL: return a >= b;
    case ANNEAL_CMP_LESS: return a < b;
    default: return a <= b;  // ANNEAL_CMP_LESS_EQUAL
  }
}

/** JavaScript's ToInt32 (Int32Array.from's conversion): toward 0, modulo 2^32, NaN and ±Inf 0. */
ANNEAL_HD int32_t to_int32(double v) {
  if (!(v - v == 0.0)) return 0;  // NaN or ±Infinity (Infinity - Infinity is NaN)
  const double t = trunc(v);
  if (t >= -2147483648.0 && t <= 2147483647.0) return int32_t(t);
  double m = fmod(t, 4294967296.0);  // exact, in (-2^32, 2^32)
  if (m < 0) m += 4294967296.0;
  return int32_t(uint32_t(m));
}

/** Cast to bool as tfjs casts: x != 0, so NaN is true. */
template <class T>
ANNEAL_HD uint8_t to_bool(T x) {
  return uint8_t(x != 0);
}

/**
 * Max pooling's step: strictly greater, so the first maximum of a window wins a tie and a NaN
 * never wins (tfjs starts each window at -Infinity, which padding never beats).
 */
ANNEAL_HD float pool_max(float best, float v) { return v > best ? v : best; }

/** What a window's maximum starts at, and still is where no value beat it. */
ANNEAL_HD float pool_none() { return -INFINITY; }

/** The positions of output row (or column) `out`'s window along one axis, inside the image. */
struct Window {
  int64_t begin, end, step;
};

/** tfjs's pool loops' window: from out * stride - pad, `filter` taps `dilation` apart. */
ANNEAL_HD Window window(int64_t out, int64_t stride, int64_t pad, int64_t filter,
                        int64_t dilation, int64_t size) {
  const int64_t corner = out * stride - pad;
  int64_t begin = corner;
  while (begin < 0) begin += dilation;
  const int64_t effective = (filter - 1) * dilation + 1;
  const int64_t end = corner + effective < size ? corner + effective : size;
  return {begin, end, dilation};
}

/**
 * Softmax of one row, in tfjs's order: the row's max (NaN taken, and kept), exp of each
 * difference (a float, as tfjs stores it), their sum in double, each exp divided by it.
 */
ANNEAL_HD void softmax_row(const float *in, float *out, int64_t n) {
  float max = in[0];
  for (int64_t i = 1; i < n; i++) max = Fold<ANNEAL_RED_MAX>::apply(max, in[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += (out[i] = expf(in[i] - max));
  for (int64_t i = 0; i < n; i++) out[i] = float(out[i] / sum);
}

/**
 * A row's log-sum-exp as tfjs's logSumExp computes it (op by op in float, the sum in double as
 * tfjs-backend-cpu's): max + log(sum of exp(x - max)), the max by Max's NaN rule.
 */
ANNEAL_HD float log_sum_exp_row(const float *x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; i++) max = Fold<ANNEAL_RED_MAX>::apply(max, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += expf(x[i] - max);
  return max + logf(float(sum));
}

/**
 * Softmax cross-entropy of one row as tfjs's softmaxCrossEntropyWithLogits computes it: the sum
 * (in double) of -((x - lse) * label).
 */
ANNEAL_HD float cross_entropy_row(const float *x, const float *labels, int64_t n) {
  const float lse = log_sum_exp_row(x, n);
  double cost = 0;
  for (int64_t i = 0; i < n; i++) {
    const float product = (x[i] - lse) * labels[i];
    cost += -product;
  }
  return float(cost);
}

/** tfjs's gradient of a row's cross-entropy through its logits: dy (exp(x - lse) - label). */
ANNEAL_HD void cross_entropy_grad_row(const float *x, const float *labels, int64_t n, float dy,
                                      float *dx) {
  const float lse = log_sum_exp_row(x, n);
  for (int64_t i = 0; i < n; i++) {
    const float difference = expf(x[i] - lse) - labels[i];
    dx[i] = dy * difference;
  }
}

/** FusedBatchNorm's divisor for one channel: sqrt(variance + epsilon) in double. */
ANNEAL_HD double batch_norm_root(float variance, double epsilon) {
  return sqrt(double(variance) + epsilon);
}

/** FusedBatchNorm's value, in double as tfjs's JavaScript computes it, rounded once. */
ANNEAL_HD float batch_norm_value(float x, float mean, float scale, float offset, double root) {
  return float(double(offset) + (double(x) - double(mean)) * double(scale) / root);
}

/**
 * A row's mean and biased variance (tf.moments over the last axis): the sum in double, in order,
 * over n; then the squared deviations from that (float) mean, likewise.
 */
ANNEAL_HD void row_moments(const float *x, int64_t n, float *mean, float *variance) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += x[i];
  const float m = float(sum / double(n));
  double squares = 0;
  for (int64_t i = 0; i < n; i++) {
    const double d = double(x[i]) - double(m);
    squares += d * d;
  }
  *mean = m;
  *variance = float(squares / double(n));
}

/**
 * One row of layer norm's gradient through x (its statistics included): with r = 1 /
 * sqrt(variance + epsilon), g = dy scale and xhat = (x - mean) r,
 * dx = r (g - mean of g - xhat mean of g xhat), in double, each value rounded once.
 */
ANNEAL_HD void layer_norm_grad_row(const float *x, const float *dy, const float *scale,
                                   int64_t n, float mean, float variance, double epsilon,
                                   float *dx) {
  const double r = 1.0 / sqrt(double(variance) + epsilon);
  double sum_g = 0, sum_gx = 0;
  for (int64_t i = 0; i < n; i++) {
    const double g = double(dy[i]) * (scale ? double(scale[i]) : 1.0);
    sum_g += g;
    sum_gx += g * (double(x[i]) - double(mean)) * r;
  }
  const double mean_g = sum_g / double(n), mean_gx = sum_gx / double(n);
  for (int64_t i = 0; i < n; i++) {
    const double g = double(dy[i]) * (scale ? double(scale[i]) : 1.0);
    const double xhat = (double(x[i]) - double(mean)) * r;
    dx[i] = float(r * (g - mean_g - xhat * mean_gx));
  }
}

/** tfjs-layers' moving-average step, op by op in float: v - (v - value) * decay. */
ANNEAL_HD float moving_average(float v, float value, float decay) {
  const float step = (v - value) * decay;
  return v - step;
}

/**
 * One channel of batch norm's training gradient (anneal_device_batch_norm_grad), from its sums
 * S = sum dy and P = sum dy (x - mean) over `rows`: dx = a dy + b + c (x - mean), and the
 * parameters' gradients r P and S.
 */
struct BatchNormGrad {
  double a, b, c;
  float dscale, doffset;
};

ANNEAL_HD BatchNormGrad batch_norm_grad(double sum_dy, double sum_dy_xc, float variance,
                                        float scale, float dmean, float dvariance,
                                        double epsilon, int64_t rows) {
  const double r = 1.0 / sqrt(double(variance) + epsilon);
  const double a = double(scale) * r, n = double(rows);
  return {a, (double(dmean) - a * sum_dy) / n,
          (2.0 * double(dvariance) - a * r * r * sum_dy_xc) / n, float(r * sum_dy_xc),
          float(sum_dy)};
}

/** dx's value (see BatchNormGrad), in double, rounded once. */
ANNEAL_HD float batch_norm_grad_value(const BatchNormGrad &g, float dy, float x, float mean) {
  return float(g.a * double(dy) + g.b + g.c * (double(x) - double(mean)));
}

}  // namespace anneal_rules

#endif /* ANNEAL_ELEMENT_RULES_H */
