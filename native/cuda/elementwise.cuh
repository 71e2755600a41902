/*
 * The per-element math of every anneal kernel, written once. Under nvcc these are
 * __host__ __device__ functions used by the CUDA kernels; under a plain C++ compiler the
 * qualifiers vanish and the CPU build (kernels_cpu.cpp) runs the very same code, which is how CI
 * checks the GPU arithmetic without a GPU. The js backend (src/kernels/js.ts) is the
 * specification; src/kernels/types.ts states each formula.
 *
 * The CUDA build is compiled with --fmad=false, so a*b+c is two roundings on both builds and the
 * host build's results are the GPU's bit for bit (fused multiply-adds are written as fmaf where
 * one rounding matters); only log/cos in float64 may differ in the last double bit.
 */
#ifndef ANNEAL_ELEMENTWISE_CUH
#define ANNEAL_ELEMENTWISE_CUH

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "anneal_kernels.h"

#if defined(__CUDACC__)
#define ANNEAL_HD __host__ __device__ __forceinline__
#else
#define ANNEAL_HD inline
#endif

namespace anneal {

// ---- optimizer steps ------------------------------------------------------------------------

/** max that keeps a NaN from either side, like Math.max and torch.maximum (fmaxf drops it). */
ANNEAL_HD float nan_max(float a, float b) {
  if (a != a || b != b) return a + b;
  return a > b ? a : b;
}

ANNEAL_HD void adam_element(float &p, float g, float &m, float &v, float &vmax, bool amsgrad,
                            float lr_mask, float decay_mask, const anneal_adam_params &h) {
  const float lr = h.lr * lr_mask;
  const float decay = h.weight_decay * decay_mask;
  if (h.decoupled) {
    p *= 1.0f - lr * decay;
  } else {
    // One rounding: g and decay * p often nearly cancel, and eps makes small g matter.
    g = fmaf(decay, p, g);
  }
  m = h.beta1 * m + h.one_minus_beta1 * g;
  v = h.beta2 * v + h.one_minus_beta2 * g * g;
  float second = v;
  if (amsgrad) {
    vmax = nan_max(vmax, v);
    second = vmax;
  }
  p -= lr / h.bias_correction1 * m / (sqrtf(second) / h.sqrt_bias_correction2 + h.eps);
}

ANNEAL_HD void sgd_element(float &p, float g, float &buf, float lr_mask, float decay_mask,
                           const anneal_sgd_params &h) {
  const float lr = h.lr * lr_mask;
  const float decay = h.weight_decay * decay_mask;
  float d = g;
  if (h.decoupled) {
    p *= 1.0f - lr * decay;
  } else {
    d = fmaf(decay, p, g);
  }
  if (h.momentum != 0.0f) {
    buf = h.first_step ? d : h.momentum * buf + (1.0f - h.dampening) * d;
    d = h.nesterov ? d + h.momentum * buf : buf;
  }
  p -= lr * d;
}

/** Lookahead sync: slow += alpha (fast - slow); fast = slow. */
ANNEAL_HD void lookahead_element(float &slow, float &fast, float alpha) {
  slow += alpha * (fast - slow);
  fast = slow;
}

/** Entropy-SGD / Langevin inner step; `normal` is the N(0,1) draw for this element. */
ANNEAL_HD void langevin_element(float &xp, float g, float x, float &mu, float normal,
                                const anneal_langevin_params &h) {
  xp -= h.eta * (g + h.gamma * (xp - x)) + h.noise_scale * normal;
  mu = (1.0f - h.alpha) * mu + h.alpha * xp;
}

// ---- averaging and interpolation ------------------------------------------------------------

ANNEAL_HD float lerp_element(float a, float b, float t) { return a + t * (b - a); }

ANNEAL_HD float bezier_element(float a, float bend, float b, float t) {
  const float s = 1.0f - t;
  return s * s * a + 2.0f * t * s * bend + t * t * b;
}

ANNEAL_HD float ema_element(float avg, float x, float decay) {
  return decay * avg + (1.0f - decay) * x;
}

ANNEAL_HD float running_mean_element(float avg, float x, float inv_count_plus_one) {
  return avg + (x - avg) * inv_count_plus_one;
}

// ---- Philox4x32-10 (Salmon et al. 2011, Random123) ------------------------------------------

struct PhiloxWords {
  uint32_t w0, w1, w2, w3;
};

ANNEAL_HD uint32_t mul_hi32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

ANNEAL_HD PhiloxWords philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                    uint32_t k0, uint32_t k1) {
  const uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  const uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const uint32_t hi0 = mul_hi32(kMul0, c0), lo0 = kMul0 * c0;
    const uint32_t hi1 = mul_hi32(kMul1, c2), lo1 = kMul1 * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return PhiloxWords{c0, c1, c2, c3};
}

/** The words of element i: key = [seed_lo, seed_hi], counter = [i, stream, 0, 0]. */
ANNEAL_HD PhiloxWords philox_words(const anneal_random_spec &spec, uint32_t i) {
  return philox4x32_10(i, spec.stream, 0u, 0u, spec.seed_lo, spec.seed_hi);
}

/** (w + 0.5) 2^-32 in (0, 1), exact in float64. */
ANNEAL_HD double unit_open(uint32_t w) { return (static_cast<double>(w) + 0.5) * 2.3283064365386963e-10; }

/*
 * Box-Muller in float64, like the js oracle: in float32, u1 near 1 rounds to 1 and ln(u1) loses
 * every digit, which would break the 1e-6 agreement types.ts promises.
 */
ANNEAL_HD float gaussian_from_words(uint32_t w0, uint32_t w1) {
  const double two_pi = 6.283185307179586;
  return static_cast<float>(sqrt(-2.0 * log(unit_open(w0))) * cos(two_pi * unit_open(w1)));
}

/** The largest float32 below 1: 1 - 2^-24. */
constexpr float kBelowOne = 0.99999994f;

/*
 * uniform(w) = (w + 0.5) 2^-32 rounded to float32, strictly in (0, 1). The float64 value is in
 * (0, 1), but its float32 rounding is 1.0f for the top 128 words (w >= 2^32 - 128: the value is
 * above 1 - 2^-25, the midpoint between 1 - 2^-24 and 1; no word falls on the midpoint itself);
 * those give 1 - 2^-24 instead, like the js oracle (src/kernels/philox.ts) and the wasm kernels.
 * The smallest value, 2^-33 (w = 0), is a normal float32, never 0.
 */
ANNEAL_HD float uniform_from_word(uint32_t w) {
  const float u = static_cast<float>(unit_open(w));
  return u < 1.0f ? u : kBelowOne;
}

ANNEAL_HD float sample(const anneal_random_spec &spec, uint32_t i) {
  const PhiloxWords w = philox_words(spec, i);
  switch (spec.distribution) {
    case ANNEAL_DIST_RADEMACHER:
      return (w.w0 & 1u) ? 1.0f : -1.0f;
    case ANNEAL_DIST_UNIFORM:
      return uniform_from_word(w.w0);
    default:
      return gaussian_from_words(w.w0, w.w1);
  }
}

// ---- magnitude selection --------------------------------------------------------------------

/*
 * |x| as an unsigned key whose integer order is the order of |x|: the float bits without the
 * sign. +0 and -0 both map to 0, and every NaN maps above +Inf, so NaN counts as largest.
 */
ANNEAL_HD uint32_t magnitude_key(float x) {
  union {
    float f;
    uint32_t u;
  } bits;
  bits.f = x;
  return bits.u & 0x7FFFFFFFu;
}

ANNEAL_HD float key_value(uint32_t key) {
  union {
    uint32_t u;
    float f;
  } bits;
  bits.u = key;
  return bits.f;
}

/* Radix select over the key bits in three digits: bits 31..21 (bit 31, the sign, is always 0),
 * 20..10 and 9..0. radix_high_mask(p) selects the bits that the passes before p have fixed. */
constexpr int kRadixPasses = 3;
constexpr int kRadixBins = 2048;
ANNEAL_HD int radix_shift(int pass) { return pass == 0 ? 21 : pass == 1 ? 10 : 0; }
ANNEAL_HD uint32_t radix_digit_mask(int pass) { return pass == 2 ? 0x3FFu : 0x7FFu; }
ANNEAL_HD uint32_t radix_high_mask(int pass) {
  return pass == 0 ? 0u : pass == 1 ? 0xFFE00000u : 0xFFFFFC00u;
}
ANNEAL_HD uint32_t radix_digit(uint32_t key, int pass) {
  return (key >> radix_shift(pass)) & radix_digit_mask(pass);
}

// ---- vector access shared by the GPU kernels and the CPU loops ------------------------------

/** W consecutive floats; W = 4 is one 128-bit load/store on the GPU. */
template <int W>
struct alignas(sizeof(float) * W) Lanes {
  float v[W];
  ANNEAL_HD float &operator[](int j) { return v[j]; }
  ANNEAL_HD float operator[](int j) const { return v[j]; }
};

template <int W>
ANNEAL_HD Lanes<W> load(const float *p, size_t i) {
  return *reinterpret_cast<const Lanes<W> *>(p + i);
}

/** Optional arrays (masks): a missing one reads as `fallback`. */
template <int W>
ANNEAL_HD Lanes<W> load_or(const float *p, size_t i, float fallback) {
  if (p) return load<W>(p, i);
  Lanes<W> out;
  for (int j = 0; j < W; ++j) out[j] = fallback;
  return out;
}

template <int W>
ANNEAL_HD void store(float *p, size_t i, const Lanes<W> &value) {
  *reinterpret_cast<Lanes<W> *>(p + i) = value;
}

}  // namespace anneal

#endif  // ANNEAL_ELEMENTWISE_CUH
