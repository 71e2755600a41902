/*
 * The host device's kernels that oneDNN 2.6 does not provide, or not in the form tfjs calls them,
 * as plain loops on the same OpenMP pool: broadcasting binary ops (oneDNN broadcasts only its
 * second input), unary ops, reductions, and pooling with tfjs's MaxPoolGrad signature (dy, x, y,
 * no workspace). Each follows tfjs-backend-cpu's arithmetic: NaN rules, which maximum wins a
 * tie, which positions a padded window counts. Sums accumulate in double, as tfjs's JavaScript
 * numbers do, and each output is summed by one thread in a fixed order, so results do not
 * depend on the thread count. The per-element rules themselves live in element_rules.h, which the
 * CUDA device shares.
 */
#include "anneal_device.h"
#include "loops.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace {

using anneal_host::kMaxRank;
using anneal_host::kParallelMin;
// The element rules both tfjs devices share (element_rules.h).
using anneal_rules::binary;
using anneal_rules::Fold;
using anneal_rules::unary;
using anneal_rules::Window;
using anneal_rules::window;

template <int Op>
void binary_row(const float *a, int64_t sa, const float *b, int64_t sb, float *out, int64_t n) {
  // The common strides get loops of their own, which the compiler vectorises.
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) out[i] = binary(Op, a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) out[i] = binary(Op, a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) out[i] = binary(Op, av, b[i]);
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = binary(Op, a[i * sa], b[i * sb]);
  }
}

/**
 * Rows [first, first + count) of a binary op's output (dims' last entry values each, or `len`
 * of them from column `begin`). The first row's offsets in a and b come from its multi-index;
 * the next rows' by counting it on like an odometer, with no division per row (narrow rows, a
 * bias or a batch-norm scale broadcast over 16 channels, are thousands a call).
 */
template <int Op>
void binary_block(int rank, const int64_t *dims, const float *a, const int64_t *as,
                  const float *b, const int64_t *bs, float *out, int64_t first, int64_t count,
                  int64_t begin, int64_t len) {
  const int64_t n = dims[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  int64_t index[kMaxRank] = {0}, oa = 0, ob = 0, rest = first;
  for (int i = rank - 2; i >= 0; i--) {
    index[i] = rest % dims[i];
    rest /= dims[i];
    oa += index[i] * as[i];
    ob += index[i] * bs[i];
  }
  for (int64_t r = first; r < first + count; r++) {
    binary_row<Op>(a + oa + begin * sa, sa, b + ob + begin * sb, sb, out + r * n + begin, len);
    for (int i = rank - 2; i >= 0; i--) {
      oa += as[i];
      ob += bs[i];
      if (++index[i] < dims[i]) break;
      oa -= as[i] * dims[i];
      ob -= bs[i] * dims[i];
      index[i] = 0;
    }
  }
}

using BlockFn = void (*)(int, const int64_t *, const float *, const int64_t *, const float *,
                         const int64_t *, float *, int64_t, int64_t, int64_t, int64_t);

BlockFn block_function(int op) {
  switch (op) {
    case ANNEAL_BIN_ADD: return binary_block<ANNEAL_BIN_ADD>;
    case ANNEAL_BIN_SUB: return binary_block<ANNEAL_BIN_SUB>;
    case ANNEAL_BIN_MUL: return binary_block<ANNEAL_BIN_MUL>;
    case ANNEAL_BIN_DIV: return binary_block<ANNEAL_BIN_DIV>;
    case ANNEAL_BIN_MAX: return binary_block<ANNEAL_BIN_MAX>;
    case ANNEAL_BIN_MIN: return binary_block<ANNEAL_BIN_MIN>;
    case ANNEAL_BIN_SQUARED_DIFFERENCE: return binary_block<ANNEAL_BIN_SQUARED_DIFFERENCE>;
    case ANNEAL_BIN_COPY: return binary_block<ANNEAL_BIN_COPY>;
    case ANNEAL_BIN_RELU_GRAD: return binary_block<ANNEAL_BIN_RELU_GRAD>;
    default: return nullptr;
  }
}

/** One op over a block, its switch resolved at compile time so the loop vectorises. */
template <int Op>
void unary_block(const float *x, float *y, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) y[i] = unary(Op, x[i], alpha);
}

using UnaryFn = void (*)(const float *, float *, int64_t, float);

UnaryFn unary_function(int op) {
  switch (op) {
    case ANNEAL_UN_RELU: return unary_block<ANNEAL_UN_RELU>;
    case ANNEAL_UN_STEP: return unary_block<ANNEAL_UN_STEP>;
    case ANNEAL_UN_SQUARE: return unary_block<ANNEAL_UN_SQUARE>;
    case ANNEAL_UN_NEG: return unary_block<ANNEAL_UN_NEG>;
    case ANNEAL_UN_EXP: return unary_block<ANNEAL_UN_EXP>;
    case ANNEAL_UN_LOG: return unary_block<ANNEAL_UN_LOG>;
    case ANNEAL_UN_SQRT: return unary_block<ANNEAL_UN_SQRT>;
    case ANNEAL_UN_RSQRT: return unary_block<ANNEAL_UN_RSQRT>;
    case ANNEAL_UN_SIGMOID: return unary_block<ANNEAL_UN_SIGMOID>;
    case ANNEAL_UN_TANH: return unary_block<ANNEAL_UN_TANH>;
    case ANNEAL_UN_ABS: return unary_block<ANNEAL_UN_ABS>;
    case ANNEAL_UN_ERF: return unary_block<ANNEAL_UN_ERF>;
    default: return nullptr;
  }
}

/** acc[i] = fold(acc[i], row[i]) for i < n: independent lanes, which the compiler vectorises. */
template <int Op>
inline void fold_row(typename Fold<Op>::Acc *acc, const float *row, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] = Fold<Op>::apply(acc[i], row[i]);
}

/** The fold of x[0..n), in 8 interleaved lanes (so it vectorises) that are then folded in order. */
template <int Op>
typename Fold<Op>::Acc fold_run(const float *x, int64_t n) {
  using Acc = typename Fold<Op>::Acc;
  constexpr int kLanes = 8;
  if (n < kLanes) {
    Acc acc = x[0];
    for (int64_t i = 1; i < n; i++) acc = Fold<Op>::apply(acc, x[i]);
    return acc;
  }
  Acc lanes[kLanes];
  for (int l = 0; l < kLanes; l++) lanes[l] = x[l];
  int64_t i = kLanes;
  for (; i + kLanes <= n; i += kLanes) fold_row<Op>(lanes, x + i, kLanes);
  Acc acc = lanes[0];
  for (int l = 1; l < kLanes; l++) acc = Fold<Op>::apply(acc, lanes[l]);
  for (; i < n; i++) acc = Fold<Op>::apply(acc, x[i]);
  return acc;
}

// Reductions are cut into parts of about this many values, at places that depend only on the
// shape, never on the thread count: each part is folded by one thread, and the parts' results
// in order by one thread, so the result is the same on any number of threads.
constexpr int64_t kPartValues = 1 << 14;

/**
 * y[o, i] = fold over r of x[o, r, i]. Rows are walked in memory order, each folded into a row
 * of accumulators (a reduction over the first axes, a bias gradient, reads x once, where
 * walking one output at a time strides through all of it once per output).
 */
template <int Op>
void reduce_all(const float *x, float *y, int64_t outer, int64_t reduce, int64_t inner) {
  using Acc = typename Fold<Op>::Acc;
  const bool parallel = outer * reduce * inner >= kParallelMin;
  if (inner >= kPartValues / 16) {
    // Wide rows: a part is a block of columns over every row.
    const int64_t width = kPartValues / 16;
    const int64_t blocks = (inner + width - 1) / width;
#pragma omp parallel for schedule(static) collapse(2) if (parallel)
    for (int64_t o = 0; o < outer; o++) {
      for (int64_t b = 0; b < blocks; b++) {
        const int64_t begin = b * width;
        const int64_t n = inner - begin < width ? inner - begin : width;
        const float *p = x + o * reduce * inner + begin;
        std::vector<Acc> acc(p, p + n);
        for (int64_t r = 1; r < reduce; r++) fold_row<Op>(acc.data(), p + r * inner, n);
        for (int64_t i = 0; i < n; i++) y[o * inner + begin + i] = Fold<Op>::finish(acc[i], reduce);
      }
    }
    return;
  }
  // Narrow rows: a part is a run of whole rows; each part's fold is kept, then folded in order.
  const int64_t part_rows = kPartValues / inner;
  const int64_t parts = (reduce + part_rows - 1) / part_rows;
  std::vector<Acc> folds(size_t(outer * parts * inner));
#pragma omp parallel for schedule(static) collapse(2) if (parallel)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t part = 0; part < parts; part++) {
      const int64_t first = part * part_rows;
      const int64_t rows = reduce - first < part_rows ? reduce - first : part_rows;
      const float *p = x + (o * reduce + first) * inner;
      Acc *acc = folds.data() + (o * parts + part) * inner;
      if (inner == 1) {
        acc[0] = fold_run<Op>(p, rows);
      } else {
        for (int64_t i = 0; i < inner; i++) acc[i] = p[i];
        for (int64_t r = 1; r < rows; r++) fold_row<Op>(acc, p + r * inner, inner);
      }
    }
  }
#pragma omp parallel for schedule(static) if (outer * inner >= kParallelMin)
  for (int64_t o = 0; o < outer; o++) {
    const Acc *f = folds.data() + o * parts * inner;
    for (int64_t i = 0; i < inner; i++) {
      Acc acc = f[i];
      for (int64_t part = 1; part < parts; part++) acc = Fold<Op>::apply(acc, f[part * inner + i]);
      y[o * inner + i] = Fold<Op>::finish(acc, reduce);
    }
  }
}

bool bad_pool(const anneal_pool2d *s) {
  if (s == nullptr) return true;
  const int64_t sizes[] = {s->batch,        s->in_height,     s->in_width,       s->channels,
                           s->filter_height, s->filter_width, s->out_height,     s->out_width,
                           s->stride_height, s->stride_width, s->dilation_height, s->dilation_width};
  for (int64_t v : sizes)
    if (v <= 0) return true;
  return s->pad_top < 0 || s->pad_left < 0;
}

/** The maxima of one window (channels side by side) of an image, folded over channel rows,
 *  which vectorises; -Infinity where no value beats it. */
void window_max(const anneal_pool2d &s, const float *__restrict x, const Window &rows,
                const Window &cols, float *__restrict best) {
  const int64_t c = s.channels;
  for (int64_t d = 0; d < c; d++) best[d] = anneal_rules::pool_none();
  for (int64_t r = rows.begin; r < rows.end; r += rows.step) {
    for (int64_t q = cols.begin; q < cols.end; q += cols.step) {
      const float *p = x + (r * s.in_width + q) * c;
      for (int64_t d = 0; d < c; d++) best[d] = anneal_rules::pool_max(best[d], p[d]);
    }
  }
}

/** y, one image's maxima. */
void max_pool_image(const anneal_pool2d &s, const float *x, float *y) {
  for (int64_t oy = 0; oy < s.out_height; oy++) {
    const Window rows = window(oy, s.stride_height, s.pad_top, s.filter_height, s.dilation_height,
                               s.in_height);
    for (int64_t ox = 0; ox < s.out_width; ox++) {
      const Window cols = window(ox, s.stride_width, s.pad_left, s.filter_width,
                                 s.dilation_width, s.in_width);
      window_max(s, x, rows, cols, y + (oy * s.out_width + ox) * s.channels);
    }
  }
}

/**
 * dx of one image: each window's maximum is found by window_max, then dy goes to the first
 * position in the window that holds it (none where no value beat -Infinity: tfjs then passes no
 * gradient on). Both passes are selects over channel rows, which vectorise; tracking the
 * maximum's index instead, in one pass, does not (it ran 15x slower).
 */
void max_pool_grad_image(const anneal_pool2d &s, const float *x, const float *dy, float *dx,
                         float *__restrict best, float *__restrict open) {
  const int64_t c = s.channels;
  std::memset(dx, 0, size_t(s.in_height * s.in_width * c) * sizeof(float));
  for (int64_t oy = 0; oy < s.out_height; oy++) {
    const Window rows = window(oy, s.stride_height, s.pad_top, s.filter_height, s.dilation_height,
                               s.in_height);
    for (int64_t ox = 0; ox < s.out_width; ox++) {
      const Window cols = window(ox, s.stride_width, s.pad_left, s.filter_width,
                                 s.dilation_width, s.in_width);
      const float kNone = anneal_rules::pool_none();
      window_max(s, x, rows, cols, best);
      // open[d]: 1 until channel d's first maximum has taken its gradient.
      for (int64_t d = 0; d < c; d++) open[d] = best[d] > kNone ? 1.f : 0.f;
      const float *g = dy + (oy * s.out_width + ox) * c;
      for (int64_t r = rows.begin; r < rows.end; r += rows.step)
        for (int64_t q = cols.begin; q < cols.end; q += cols.step) {
          const int64_t at = (r * s.in_width + q) * c;
          const float *__restrict p = x + at;
          float *__restrict t = dx + at;
          for (int64_t d = 0; d < c; d++) {
            // Selects of loaded values and unconditional stores: no branch, which would be
            // mispredicted half the time, and a loop the compiler vectorises.
            const float was_open = open[d], grad = g[d];
            const float first = p[d] == best[d] ? was_open : 0.f;
            t[d] += first != 0.f ? grad : 0.f;
            open[d] = was_open - first;
          }
        }
    }
  }
}

/**
 * Terms sums per channel over the rows of a [rows, channels] tensor, in double: `add_row(r, acc)`
 * adds row r's terms into acc[t * channels + c]. The rows are cut into parts at places that
 * depend only on the shape; each part is summed by one thread and the parts are added in order.
 */
template <int Terms, class AddRow>
std::vector<double> channel_sums(int64_t rows, int64_t channels, const AddRow &add_row) {
  const int64_t width = Terms * channels;
  const int64_t part_rows = kPartValues / channels > 1 ? kPartValues / channels : 1;
  const int64_t parts = (rows + part_rows - 1) / part_rows;
  std::vector<double> partial(size_t(parts * width), 0.0);
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelMin)
  for (int64_t part = 0; part < parts; part++) {
    const int64_t end = (part + 1) * part_rows < rows ? (part + 1) * part_rows : rows;
    for (int64_t r = part * part_rows; r < end; r++) add_row(r, partial.data() + part * width);
  }
  std::vector<double> sums(partial.begin(), partial.begin() + width);
  for (int64_t part = 1; part < parts; part++) {
    for (int64_t k = 0; k < width; k++) sums[k] += partial[part * width + k];
  }
  return sums;
}

}  // namespace

extern "C" {

int anneal_device_binary(int op, int rank, const int64_t *out_dims, const float *a,
                         const int64_t *a_strides, const float *b, const int64_t *b_strides,
                         float *out) {
  const BlockFn block = block_function(op);
  if (block == nullptr || rank < 1 || rank > kMaxRank) return ANNEAL_DEVICE_INVALID;
  int64_t rows = 1;
  for (int i = 0; i < rank - 1; i++) rows *= out_dims[i];
  const int64_t n = out_dims[rank - 1];
  const bool parallel = rows * n >= kParallelMin;
  // Work in units of about kPiece values: pieces of a long row (same-shape inputs merge into one
  // row, which should still spread over the threads), or blocks of whole short rows.
  constexpr int64_t kPiece = 1 << 14;
  if (n >= kPiece) {
    const int64_t pieces = (n + kPiece - 1) / kPiece;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t u = 0; u < rows * pieces; u++) {
      const int64_t begin = (u % pieces) * kPiece;
      block(rank, out_dims, a, a_strides, b, b_strides, out, u / pieces, 1, begin,
            n - begin < kPiece ? n - begin : kPiece);
    }
  } else {
    const int64_t per_block = kPiece / n;
    const int64_t blocks = (rows + per_block - 1) / per_block;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t u = 0; u < blocks; u++) {
      const int64_t first = u * per_block;
      block(rank, out_dims, a, a_strides, b, b_strides, out, first,
            rows - first < per_block ? rows - first : per_block, 0, n);
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_unary(int op, const float *x, float *y, int64_t n, float alpha) {
  const UnaryFn fn = unary_function(op);
  if (fn == nullptr || n < 0) return ANNEAL_DEVICE_INVALID;
  // Blocks of 64K values: one call per block, whose loop the compiler vectorises for its op.
  constexpr int64_t kBlock = 1 << 16;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t begin = b * kBlock;
    fn(x + begin, y + begin, (n - begin < kBlock ? n - begin : kBlock), alpha);
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_reduce(int op, const float *x, float *y, int64_t outer, int64_t reduce,
                         int64_t inner) {
  if (outer < 1 || reduce < 1 || inner < 1) return ANNEAL_DEVICE_INVALID;
  switch (op) {
    case ANNEAL_RED_SUM: reduce_all<ANNEAL_RED_SUM>(x, y, outer, reduce, inner); break;
    case ANNEAL_RED_MEAN: reduce_all<ANNEAL_RED_MEAN>(x, y, outer, reduce, inner); break;
    case ANNEAL_RED_MAX: reduce_all<ANNEAL_RED_MAX>(x, y, outer, reduce, inner); break;
    case ANNEAL_RED_MIN: reduce_all<ANNEAL_RED_MIN>(x, y, outer, reduce, inner); break;
    default: return ANNEAL_DEVICE_INVALID;
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_softmax(const float *x, float *y, int64_t rows, int64_t n) {
  if (rows < 0 || n < 1) return ANNEAL_DEVICE_INVALID;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    anneal_rules::softmax_row(x + r * n, y + r * n, n);
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_layer_norm(const float *x, int64_t rows, int64_t n, const float *scale,
                             const float *offset, double epsilon, float *y, float *mean,
                             float *variance) {
  if (rows < 1 || n < 1) return ANNEAL_DEVICE_INVALID;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * n;
    anneal_rules::row_moments(p, n, mean + r, variance + r);
    const double root = anneal_rules::batch_norm_root(variance[r], epsilon);
    for (int64_t j = 0; j < n; j++) {
      y[r * n + j] = anneal_rules::batch_norm_value(p[j], mean[r], scale ? scale[j] : 1.f,
                                                    offset ? offset[j] : 0.f, root);
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_layer_norm_grad(const float *x, const float *dy, int64_t rows, int64_t n,
                                  const float *mean, const float *variance, const float *scale,
                                  double epsilon, float *dx, float *dscale, float *doffset) {
  if (rows < 1 || n < 1) return ANNEAL_DEVICE_INVALID;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    anneal_rules::layer_norm_grad_row(x + r * n, dy + r * n, scale, n, mean[r], variance[r],
                                      epsilon, dx + r * n);
  }
  const auto sums = channel_sums<2>(rows, n, [&](int64_t r, double *acc) {
    const double rr = 1.0 / std::sqrt(double(variance[r]) + epsilon);
    const float *px = x + r * n, *pd = dy + r * n;
    for (int64_t j = 0; j < n; j++) {
      acc[j] += double(pd[j]) * (double(px[j]) - double(mean[r])) * rr;
      acc[n + j] += pd[j];
    }
  });
  for (int64_t j = 0; j < n; j++) {
    dscale[j] = float(sums[j]);
    doffset[j] = float(sums[n + j]);
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_cross_entropy(const float *logits, const float *labels, int64_t rows,
                                int64_t n, float *loss) {
  if (rows < 0 || n < 1) return ANNEAL_DEVICE_INVALID;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    loss[r] = anneal_rules::cross_entropy_row(logits + r * n, labels + r * n, n);
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_cross_entropy_grad(const float *logits, const float *labels, const float *dy,
                                     int64_t rows, int64_t n, float *dlogits) {
  if (rows < 0 || n < 1) return ANNEAL_DEVICE_INVALID;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    anneal_rules::cross_entropy_grad_row(logits + r * n, labels + r * n, n, dy[r],
                                         dlogits + r * n);
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_max_pool(const anneal_pool2d *s, const float *x, float *y) {
  if (bad_pool(s)) return ANNEAL_DEVICE_INVALID;
  const int64_t in = s->in_height * s->in_width * s->channels;
  const int64_t out = s->out_height * s->out_width * s->channels;
#pragma omp parallel for schedule(static) if (s->batch * in >= kParallelMin)
  for (int64_t b = 0; b < s->batch; b++) max_pool_image(*s, x + b * in, y + b * out);
  return ANNEAL_DEVICE_OK;
}

int anneal_device_max_pool_grad(const anneal_pool2d *s, const float *x, const float *dy,
                                float *dx) {
  if (bad_pool(s)) return ANNEAL_DEVICE_INVALID;
  const int64_t in = s->in_height * s->in_width * s->channels;
  const int64_t out = s->out_height * s->out_width * s->channels;
  // Images are independent: each thread scatters into its own images' dx.
#pragma omp parallel if (s->batch * in >= kParallelMin)
  {
    std::vector<float> best(size_t(s->channels)), open(size_t(s->channels));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < s->batch; b++)
      max_pool_grad_image(*s, x + b * in, dy + b * out, dx + b * in, best.data(), open.data());
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_avg_pool(const anneal_pool2d *s, const float *x, float *y) {
  if (bad_pool(s)) return ANNEAL_DEVICE_INVALID;
  const int64_t c = s->channels;
#pragma omp parallel for schedule(static) collapse(2) \
    if (s->batch * s->in_height * s->in_width * c >= kParallelMin)
  for (int64_t b = 0; b < s->batch; b++) {
    for (int64_t oy = 0; oy < s->out_height; oy++) {
      const float *image = x + b * s->in_height * s->in_width * c;
      const Window rows = window(oy, s->stride_height, s->pad_top, s->filter_height,
                                 s->dilation_height, s->in_height);
      std::vector<double> sum(static_cast<size_t>(c));
      for (int64_t ox = 0; ox < s->out_width; ox++) {
        const Window cols = window(ox, s->stride_width, s->pad_left, s->filter_width,
                                   s->dilation_width, s->in_width);
        std::fill(sum.begin(), sum.end(), 0.0);
        int64_t count = 0;
        for (int64_t r = rows.begin; r < rows.end; r += rows.step) {
          for (int64_t q = cols.begin; q < cols.end; q += cols.step) {
            const float *p = image + (r * s->in_width + q) * c;
            for (int64_t d = 0; d < c; d++) sum[d] += p[d];
            count++;
          }
        }
        float *o = y + ((b * s->out_height + oy) * s->out_width + ox) * c;
        for (int64_t d = 0; d < c; d++) o[d] = float(sum[d] / double(count));
      }
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_avg_pool_grad(const anneal_pool2d *s, const float *dy, float *dx) {
  if (bad_pool(s)) return ANNEAL_DEVICE_INVALID;
  const int64_t c = s->channels;
  const int64_t in = s->in_height * s->in_width * c;
  const float share = 1.f / float(s->filter_height * s->filter_width);
#pragma omp parallel for schedule(static) if (s->batch * in >= kParallelMin)
  for (int64_t b = 0; b < s->batch; b++) {
    float *g = dx + b * in;
    std::memset(g, 0, size_t(in) * sizeof(float));
    for (int64_t oy = 0; oy < s->out_height; oy++) {
      const Window rows = window(oy, s->stride_height, s->pad_top, s->filter_height,
                                 s->dilation_height, s->in_height);
      for (int64_t ox = 0; ox < s->out_width; ox++) {
        const Window cols = window(ox, s->stride_width, s->pad_left, s->filter_width,
                                   s->dilation_width, s->in_width);
        const float *d = dy + ((b * s->out_height + oy) * s->out_width + ox) * c;
        for (int64_t r = rows.begin; r < rows.end; r += rows.step)
          for (int64_t q = cols.begin; q < cols.end; q += cols.step) {
            float *p = g + (r * s->in_width + q) * c;
            for (int64_t k = 0; k < c; k++) p[k] += d[k] * share;
          }
      }
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_batch_norm(const float *x, int64_t n, const float *mean, int64_t nm,
                             const float *variance, int64_t nv, const float *scale, int64_t ns,
                             const float *offset, int64_t no, double epsilon, float *out) {
  if (n < 0 || nm < 1 || nv < 1 || (scale && ns < 1) || (offset && no < 1))
    return ANNEAL_DEVICE_INVALID;
  const float one = 1.f, zero = 0.f;
  if (!scale) scale = &one, ns = 1;
  if (!offset) offset = &zero, no = 1;
  auto one_value = [&](int64_t i, int64_t im, int64_t is, int64_t io, double root) {
    out[i] = anneal_rules::batch_norm_value(x[i], mean[im], scale[is], offset[io], root);
  };
  const bool rows = nm == nv && (ns == 1 || ns == nm) && (no == 1 || no == nm) && n % nm == 0;
  if (rows) {
    // The usual case: every parameter has the channels' length (or 1), x is rows of channels.
    std::vector<double> roots(static_cast<size_t>(nm));
    for (int64_t c = 0; c < nm; c++) roots[c] = anneal_rules::batch_norm_root(variance[c], epsilon);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t r = 0; r < n / nm; r++)
      for (int64_t c = 0; c < nm; c++)
        one_value(r * nm + c, c, ns == 1 ? 0 : c, no == 1 ? 0 : c, roots[c]);
  } else {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; i++)
      one_value(i, i % nm, i % ns, i % no,
                anneal_rules::batch_norm_root(variance[i % nv], epsilon));
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_moments(const float *x, int64_t rows, int64_t channels, float *mean,
                          float *variance, const float *moving_mean,
                          const float *moving_variance, float decay, float *new_moving_mean,
                          float *new_moving_variance) {
  if (rows < 1 || channels < 1) return ANNEAL_DEVICE_INVALID;
  const auto sums = channel_sums<1>(rows, channels, [&](int64_t r, double *acc) {
    const float *p = x + r * channels;
    for (int64_t c = 0; c < channels; c++) acc[c] += p[c];
  });
  for (int64_t c = 0; c < channels; c++) mean[c] = float(sums[c] / double(rows));
  const auto squares = channel_sums<1>(rows, channels, [&](int64_t r, double *acc) {
    const float *p = x + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      const double d = double(p[c]) - double(mean[c]);
      acc[c] += d * d;
    }
  });
  for (int64_t c = 0; c < channels; c++) variance[c] = float(squares[c] / double(rows));
  if (moving_mean && moving_variance) {
    for (int64_t c = 0; c < channels; c++) {
      new_moving_mean[c] = anneal_rules::moving_average(moving_mean[c], mean[c], decay);
      new_moving_variance[c] = anneal_rules::moving_average(moving_variance[c], variance[c], decay);
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_batch_norm_grad(const float *x, const float *dy, int64_t rows,
                                  int64_t channels, const float *mean, const float *variance,
                                  const float *scale, const float *dmean,
                                  const float *dvariance, double epsilon, float *dx,
                                  float *dscale, float *doffset) {
  if (rows < 1 || channels < 1) return ANNEAL_DEVICE_INVALID;
  const auto sums = channel_sums<2>(rows, channels, [&](int64_t r, double *acc) {
    const float *px = x + r * channels, *pd = dy + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      acc[c] += pd[c];
      acc[channels + c] += double(pd[c]) * (double(px[c]) - double(mean[c]));
    }
  });
  std::vector<anneal_rules::BatchNormGrad> grads(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; c++) {
    grads[c] = anneal_rules::batch_norm_grad(sums[c], sums[channels + c], variance[c],
                                             scale ? scale[c] : 1.f, dmean ? dmean[c] : 0.f,
                                             dvariance ? dvariance[c] : 0.f, epsilon, rows);
    dscale[c] = grads[c].dscale;
    doffset[c] = grads[c].doffset;
  }
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < channels; c++) {
      const int64_t i = r * channels + c;
      dx[i] = anneal_rules::batch_norm_grad_value(grads[c], dy[i], x[i], mean[c]);
    }
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_concat(int count, const float *const *inputs, const int64_t *widths,
                         int64_t outer, float *out) {
  if (count < 1 || outer < 0) return ANNEAL_DEVICE_INVALID;
  int64_t width = 0;
  for (int i = 0; i < count; i++) {
    if (widths[i] < 0) return ANNEAL_DEVICE_INVALID;
    width += widths[i];
  }
#pragma omp parallel for schedule(static) if (outer * width >= kParallelMin)
  for (int64_t r = 0; r < outer; r++) {
    float *row = out + r * width;
    for (int i = 0; i < count; i++) {
      std::memcpy(row, inputs[i] + r * widths[i], size_t(widths[i]) * sizeof(float));
      row += widths[i];
    }
  }
  return ANNEAL_DEVICE_OK;
}

}  // extern "C"
