/*
 * Every element-wise op and reduction as a functor over W consecutive elements starting at i
 * (W = 4: one 128-bit access per array; W = 1: the unaligned head/tail). The CUDA build runs
 * them in grid-stride kernels, the CPU build in plain loops (see run_map/run_reduce in
 * kernels.cu and kernels_cpu.cpp); the functors themselves are shared.
 */
#ifndef ANNEAL_OPS_CUH
#define ANNEAL_OPS_CUH

#include "elementwise.cuh"

namespace anneal {

// ---- maps -----------------------------------------------------------------------------------

struct FillOp {
  float *x;
  float value;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> out;
    for (int j = 0; j < W; ++j) out[j] = value;
    store<W>(x, i, out);
  }
};

struct ScaleOp {
  float *x;
  float alpha;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) v[j] *= alpha;
    store<W>(x, i, v);
  }
};

struct AxpyOp {
  float *y;
  const float *x;
  float alpha;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> yv = load<W>(y, i);
    const Lanes<W> xv = load<W>(x, i);
    for (int j = 0; j < W; ++j) yv[j] += alpha * xv[j];
    store<W>(y, i, yv);
  }
};

struct MulOp {
  float *out;
  const float *a, *b;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    const Lanes<W> av = load<W>(a, i), bv = load<W>(b, i);
    Lanes<W> o;
    for (int j = 0; j < W; ++j) o[j] = av[j] * bv[j];
    store<W>(out, i, o);
  }
};

// ---- the step gate (anneal_gate_non_finite and the gated steps) -----------------------------

/** NaN or +-Inf: the exponent bits are all ones. */
ANNEAL_HD bool is_non_finite(float v) { return magnitude_key(v) >= 0x7F800000u; }

/** Records a check's verdict in the gate (see ANNEAL_GATE_LENGTH). */
ANNEAL_HD void gate_record(float *gate, bool hit, double step) {
  gate[0] = hit ? 1.0f : 0.0f;
  if (!hit) return;
  gate[1] += 1.0f;
  if (gate[2] == 0.0f) gate[2] = float(step + 1.0);
  gate[3] = float(step + 1.0);
}

/**
 * Applies a gate to a step's functor: false when the step must do nothing (then `counts`, one
 * caller per step, adds the skip to the gate); otherwise f runs as the step the host counted
 * less the skips it has not settled (F::recount). `values` are the gate's floats wherever the
 * caller can read them (on the GPU, every thread of the kernel).
 */
template <class F>
ANNEAL_HD bool pass_gate(F &f, const anneal_gate &g, float *values, bool counts) {
  if (values[0] != 0.0f) {
    if (counts) values[5] += 1.0f;
    return false;
  }
  const double unsettled = double(values[5]) - g.settled;
  if (unsettled != 0.0) f.recount(fmax(1.0, g.step - unsettled), g);
  return true;
}

struct AdamOp {
  float *param;
  const float *grad;
  float *m, *v, *vmax;
  const float *lr_mask, *decay_mask;
  anneal_adam_params h;
  /** The bias corrections of step t (the host's formulas: float64, then float). */
  ANNEAL_HD void recount(double t, const anneal_gate &g) {
    h.bias_correction1 = float(1.0 - pow(g.beta1, t));
    h.sqrt_bias_correction2 = float(sqrt(1.0 - pow(g.beta2, t)));
  }
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> p = load<W>(param, i), mv = load<W>(m, i), vv = load<W>(v, i);
    Lanes<W> vm = load_or<W>(vmax, i, 0.0f);
    const Lanes<W> g = load<W>(grad, i);
    const Lanes<W> lrm = load_or<W>(lr_mask, i, 1.0f), dm = load_or<W>(decay_mask, i, 1.0f);
    for (int j = 0; j < W; ++j) {
      adam_element(p[j], g[j], mv[j], vv[j], vm[j], vmax != nullptr, lrm[j], dm[j], h);
    }
    store<W>(param, i, p);
    store<W>(m, i, mv);
    store<W>(v, i, vv);
    if (vmax) store<W>(vmax, i, vm);
  }
};

struct SgdOp {
  float *param;
  const float *grad;
  float *buf;
  const float *lr_mask, *decay_mask;
  anneal_sgd_params h;
  /** Step t: the first (the buffer starts at d) when t <= 1. */
  ANNEAL_HD void recount(double t, const anneal_gate &) { h.first_step = t <= 1.0 ? 1 : 0; }
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    // The buffer is read only when it holds state (momentum on, not the first step).
    const bool uses_buf = h.momentum != 0.0f;
    Lanes<W> p = load<W>(param, i);
    Lanes<W> b = uses_buf && !h.first_step ? load<W>(buf, i) : load_or<W>(nullptr, i, 0.0f);
    const Lanes<W> g = load<W>(grad, i);
    const Lanes<W> lrm = load_or<W>(lr_mask, i, 1.0f), dm = load_or<W>(decay_mask, i, 1.0f);
    for (int j = 0; j < W; ++j) sgd_element(p[j], g[j], b[j], lrm[j], dm[j], h);
    store<W>(param, i, p);
    if (uses_buf) store<W>(buf, i, b);
  }
};

struct LookaheadOp {
  float *slow, *fast;
  float alpha;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> s = load<W>(slow, i), f = load<W>(fast, i);
    for (int j = 0; j < W; ++j) lookahead_element(s[j], f[j], alpha);
    store<W>(slow, i, s);
    store<W>(fast, i, f);
  }
};

struct LangevinOp {
  float *xp;
  const float *grad, *x;
  float *mu;
  anneal_langevin_params h;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> xpv = load<W>(xp, i), muv = load<W>(mu, i);
    const Lanes<W> g = load<W>(grad, i), xv = load<W>(x, i);
    for (int j = 0; j < W; ++j) {
      const PhiloxWords w = philox_words(h.rng, uint32_t(i + j));
      langevin_element(xpv[j], g[j], xv[j], muv[j], gaussian_from_words(w.w0, w.w1), h);
    }
    store<W>(xp, i, xpv);
    store<W>(mu, i, muv);
  }
};

struct RunningMeanOp {
  float *avg;
  const float *x;
  float inv_count_plus_one;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> a = load<W>(avg, i);
    const Lanes<W> xv = load<W>(x, i);
    for (int j = 0; j < W; ++j) a[j] = running_mean_element(a[j], xv[j], inv_count_plus_one);
    store<W>(avg, i, a);
  }
};

struct EmaOp {
  float *avg;
  const float *x;
  float decay;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> a = load<W>(avg, i);
    const Lanes<W> xv = load<W>(x, i);
    for (int j = 0; j < W; ++j) a[j] = ema_element(a[j], xv[j], decay);
    store<W>(avg, i, a);
  }
};

/** Up to kMaxTerms inputs per launch; later launches add onto `out` (accumulate). */
struct WeightedSumOp {
  static constexpr int kMaxTerms = 8;
  float *out;
  const float *xs[kMaxTerms];
  float weights[kMaxTerms];
  int terms;
  bool accumulate;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    double acc[W];
    const Lanes<W> start = load_or<W>(accumulate ? out : nullptr, i, 0.0f);
    for (int j = 0; j < W; ++j) acc[j] = start[j];
    for (int t = 0; t < kMaxTerms; ++t) {
      if (t >= terms) break;
      const Lanes<W> xv = load<W>(xs[t], i);
      for (int j = 0; j < W; ++j) acc[j] += static_cast<double>(weights[t]) * xv[j];
    }
    Lanes<W> o;
    for (int j = 0; j < W; ++j) o[j] = static_cast<float>(acc[j]);
    store<W>(out, i, o);
  }
};

struct LerpOp {
  float *out;
  const float *a, *b;
  float t;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    const Lanes<W> av = load<W>(a, i), bv = load<W>(b, i);
    Lanes<W> o;
    for (int j = 0; j < W; ++j) o[j] = lerp_element(av[j], bv[j], t);
    store<W>(out, i, o);
  }
};

struct BezierOp {
  float *out;
  const float *a, *bend, *b;
  float t;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    const Lanes<W> av = load<W>(a, i), cv = load<W>(bend, i), bv = load<W>(b, i);
    Lanes<W> o;
    for (int j = 0; j < W; ++j) o[j] = bezier_element(av[j], cv[j], bv[j], t);
    store<W>(out, i, o);
  }
};

struct RandomOp {
  float *out;
  anneal_random_spec spec;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> o;
    for (int j = 0; j < W; ++j) o[j] = sample(spec, uint32_t(i + j));
    store<W>(out, i, o);
  }
};

/** x += scale * d(i); the whole-vector perturbation (segments are handled per backend). */
struct PerturbOp {
  float *x;
  float scale;
  anneal_random_spec spec;
  template <int W>
  ANNEAL_HD void run(size_t i) const {
    Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) v[j] += scale * sample(spec, uint32_t(i + j));
    store<W>(x, i, v);
  }
};

// ---- reductions: identity, combine, and a per-element accumulate ----------------------------

struct DotOp {
  using Acc = double;
  const float *a, *b;
  static ANNEAL_HD Acc identity() { return 0.0; }
  static ANNEAL_HD Acc combine(Acc x, Acc y) { return x + y; }
  template <int W>
  ANNEAL_HD void run(size_t i, Acc &acc) const {
    const Lanes<W> av = load<W>(a, i), bv = load<W>(b, i);
    for (int j = 0; j < W; ++j) acc += static_cast<double>(av[j]) * bv[j];
  }
};

struct SumSquaresOp {
  using Acc = double;
  const float *x;
  static ANNEAL_HD Acc identity() { return 0.0; }
  static ANNEAL_HD Acc combine(Acc a, Acc b) { return a + b; }
  template <int W>
  ANNEAL_HD void run(size_t i, Acc &acc) const {
    const Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) acc += static_cast<double>(v[j]) * v[j];
  }
};

/** fmaxf returns the other operand for a NaN, which is exactly "NaN is ignored". */
struct MaxAbsOp {
  using Acc = float;
  const float *x;
  static ANNEAL_HD Acc identity() { return 0.0f; }
  static ANNEAL_HD Acc combine(Acc a, Acc b) { return fmaxf(a, b); }
  template <int W>
  ANNEAL_HD void run(size_t i, Acc &acc) const {
    const Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) acc = fmaxf(acc, fabsf(v[j]));
  }
};

struct CountNonFiniteOp {
  using Acc = unsigned long long;
  const float *x;
  static ANNEAL_HD Acc identity() { return 0; }
  static ANNEAL_HD Acc combine(Acc a, Acc b) { return a + b; }
  template <int W>
  ANNEAL_HD void run(size_t i, Acc &acc) const {
    const Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) acc += is_non_finite(v[j]) ? 1 : 0;
  }
};

struct CountZerosOp {
  using Acc = unsigned long long;
  const float *x;
  static ANNEAL_HD Acc identity() { return 0; }
  static ANNEAL_HD Acc combine(Acc a, Acc b) { return a + b; }
  template <int W>
  ANNEAL_HD void run(size_t i, Acc &acc) const {
    const Lanes<W> v = load<W>(x, i);
    for (int j = 0; j < W; ++j) acc += v[j] == 0.0f ? 1 : 0;
  }
};

/** Both squared norms a segment's perturbation scale needs: ||x_seg||^2 and ||d_seg||^2. */
struct SegmentNorms {
  double xx, dd;
};

}  // namespace anneal

#endif  // ANNEAL_OPS_CUH
