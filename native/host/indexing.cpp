/*
 * The host device's indexing kernels (anneal_device.h): Pad, GatherV2, OneHot, Select, Fill,
 * ArgMax / ArgMin, the comparisons and Cast, as plain loops on the OpenMP pool. Each gives what
 * tfjs-backend-cpu's kernel of the same name gives: which index wins a tie, where NaN goes, how
 * a float becomes an int32 (those rules live in element_rules.h, which the CUDA device shares).
 * Kernels that only move values work on 32-bit words, so one loop serves float32 and int32
 * tensors.
 */
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>

#include "anneal_device.h"
#include "loops.h"

namespace {

using anneal_host::kMaxRank;
using anneal_host::kParallelMin;

// Work is cut into blocks of about this many values (whole rows, or one row when longer).
constexpr int64_t kBlock = 1 << 14;

/**
 * Calls body(first, count) for blocks of whole rows of `len` values (single values where len
 * is 1), on threads when the op has kParallelMin values or more.
 */
template <typename Body>
void row_blocks(int64_t rows, int64_t len, Body body) {
  const int64_t per_block = len >= kBlock ? 1 : kBlock / (len > 0 ? len : 1);
  const int64_t blocks = (rows + per_block - 1) / per_block;
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (int64_t u = 0; u < blocks; u++) {
    const int64_t first = u * per_block;
    body(first, rows - first < per_block ? rows - first : per_block);
  }
}

/**
 * The multi-index of a row of an output of `rank` dims (the last one is the row) and the
 * offsets of that row in two inputs read by strides, counted on from row to row like an
 * odometer, with no division per row.
 */
struct Rows {
  int rank;
  const int64_t *dims, *as, *bs;
  int64_t index[kMaxRank] = {0};
  int64_t a = 0, b = 0;

  Rows(int rank_, const int64_t *dims_, const int64_t *as_, const int64_t *bs_, int64_t first)
      : rank(rank_), dims(dims_), as(as_), bs(bs_) {
    for (int i = rank - 2; i >= 0; i--) {
      index[i] = first % dims[i];
      first /= dims[i];
      a += index[i] * as[i];
      b += index[i] * bs[i];
    }
  }

  void next() {
    for (int i = rank - 2; i >= 0; i--) {
      a += as[i];
      b += bs[i];
      if (++index[i] < dims[i]) return;
      a -= as[i] * dims[i];
      b -= bs[i] * dims[i];
      index[i] = 0;
    }
  }
};

void fill_words(uint32_t *out, int64_t n, uint32_t value) {
  for (int64_t i = 0; i < n; i++) out[i] = value;
}

template <typename T, int Op>
void compare_all(int rank, const int64_t *dims, const T *a, const int64_t *as, const T *b,
                 const int64_t *bs, uint8_t *out) {
  int64_t rows = 1;
  for (int i = 0; i < rank - 1; i++) rows *= dims[i];
  const int64_t n = dims[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  row_blocks(rows, n, [&](int64_t first, int64_t count) {
    Rows at(rank, dims, as, bs, first);
    for (int64_t r = first; r < first + count; r++, at.next()) {
      const T *pa = a + at.a, *pb = b + at.b;
      uint8_t *o = out + r * n;
      // Same-shape and scalar rows get loops of their own, which the compiler vectorises.
      if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; i++) o[i] = anneal_rules::compare<Op>(pa[i], pb[i]);
      } else if (sa == 1 && sb == 0) {
        for (int64_t i = 0; i < n; i++) o[i] = anneal_rules::compare<Op>(pa[i], pb[0]);
      } else {
        for (int64_t i = 0; i < n; i++) o[i] = anneal_rules::compare<Op>(pa[i * sa], pb[i * sb]);
      }
    }
  });
}

template <typename T>
int compare_typed(int op, int rank, const int64_t *dims, const T *a, const int64_t *as,
                  const T *b, const int64_t *bs, uint8_t *out) {
  switch (op) {
    case ANNEAL_CMP_EQUAL: compare_all<T, ANNEAL_CMP_EQUAL>(rank, dims, a, as, b, bs, out); break;
    case ANNEAL_CMP_NOT_EQUAL:
      compare_all<T, ANNEAL_CMP_NOT_EQUAL>(rank, dims, a, as, b, bs, out);
      break;
    case ANNEAL_CMP_GREATER:
      compare_all<T, ANNEAL_CMP_GREATER>(rank, dims, a, as, b, bs, out);
      break;
    case ANNEAL_CMP_GREATER_EQUAL:
      compare_all<T, ANNEAL_CMP_GREATER_EQUAL>(rank, dims, a, as, b, bs, out);
      break;
    case ANNEAL_CMP_LESS: compare_all<T, ANNEAL_CMP_LESS>(rank, dims, a, as, b, bs, out); break;
    case ANNEAL_CMP_LESS_EQUAL:
      compare_all<T, ANNEAL_CMP_LESS_EQUAL>(rank, dims, a, as, b, bs, out);
      break;
    default: return ANNEAL_DEVICE_INVALID;
  }
  return ANNEAL_DEVICE_OK;
}

/**
 * ArgMax / ArgMin over the middle axis, by tfjs's rule (anneal_rules::arg_better). Each output
 * is found by one thread, in order.
 */
template <typename T, bool Max>
void arg_reduce(const T *x, int32_t *y, int64_t outer, int64_t reduce, int64_t inner) {
  auto better = [](T v, T best) { return anneal_rules::arg_better<Max>(v, best); };
  if (inner == 1) {
    row_blocks(outer, reduce, [&](int64_t first, int64_t count) {
      for (int64_t o = first; o < first + count; o++) {
        const T *p = x + o * reduce;
        T best = p[0];
        int32_t at = 0;
        for (int64_t r = 1; r < reduce; r++)
          if (better(p[r], best)) best = p[r], at = int32_t(r);
        y[o] = at;
      }
    });
    return;
  }
  // Columns: blocks of each output row, every row of the reduced axis folded into them in order.
  const int64_t width = 1024, blocks = (inner + width - 1) / width;
#pragma omp parallel for schedule(static) collapse(2) if (outer * reduce * inner >= kParallelMin)
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t c = 0; c < blocks; c++) {
      const int64_t begin = c * width, n = inner - begin < width ? inner - begin : width;
      const T *p = x + o * reduce * inner + begin;
      int32_t *at = y + o * inner + begin;
      T best[width];
      for (int64_t i = 0; i < n; i++) best[i] = p[i], at[i] = 0;
      for (int64_t r = 1; r < reduce; r++)
        for (int64_t i = 0; i < n; i++)
          if (better(p[r * inner + i], best[i])) best[i] = p[r * inner + i], at[i] = int32_t(r);
    }
  }
}

template <typename From, typename To, typename Convert>
void cast_all(const From *x, To *y, int64_t n, Convert convert) {
  row_blocks(n, 1, [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; i++) y[i] = convert(x[i]);
  });
}

}  // namespace

extern "C" {

int anneal_device_pad(int rank, const int64_t *in_dims, const int64_t *before,
                      const int64_t *after, const uint32_t *x, uint32_t value, uint32_t *out) {
  if (rank < 1 || rank > kMaxRank) return ANNEAL_DEVICE_INVALID;
  int64_t out_dims[kMaxRank], in_strides[kMaxRank], none[kMaxRank] = {0}, rows = 1, step = 1;
  for (int k = rank - 1; k >= 0; k--) {
    if (in_dims[k] < 0 || before[k] < 0 || after[k] < 0) return ANNEAL_DEVICE_INVALID;
    out_dims[k] = before[k] + in_dims[k] + after[k];
    in_strides[k] = step;
    step *= in_dims[k];
  }
  for (int k = 0; k < rank - 1; k++) rows *= out_dims[k];
  const int64_t n = out_dims[rank - 1], head = before[rank - 1], body = in_dims[rank - 1];
  row_blocks(rows, n, [&](int64_t first, int64_t count) {
    Rows at(rank, out_dims, in_strides, none, first);
    for (int64_t r = first; r < first + count; r++, at.next()) {
      uint32_t *o = out + r * n;
      // The row's input row, or none where an outer index falls in the padding.
      bool inside = true;
      int64_t from = 0;
      for (int k = 0; k < rank - 1 && inside; k++) {
        const int64_t i = at.index[k] - before[k];
        inside = i >= 0 && i < in_dims[k];
        from += i * in_strides[k];
      }
      if (!inside) {
        fill_words(o, n, value);
        continue;
      }
      fill_words(o, head, value);
      std::memcpy(o + head, x + from, size_t(body) * sizeof(uint32_t));
      fill_words(o + head + body, n - head - body, value);
    }
  });
  return ANNEAL_DEVICE_OK;
}

int anneal_device_gather(const uint32_t *x, int64_t batch, int64_t outer, int64_t dim,
                         int64_t slice, const int32_t *indices, int64_t count, uint32_t *out) {
  if (batch < 0 || outer < 0 || dim < 0 || slice < 0 || count < 0) return ANNEAL_DEVICE_INVALID;
  for (int64_t i = 0; i < batch * count; i++)
    if (indices[i] < 0 || indices[i] >= dim) return ANNEAL_DEVICE_INVALID;
  // Rows of the output: [batch, outer, count], each one slice of x.
  row_blocks(batch * outer * count, slice, [&](int64_t first, int64_t rows) {
    for (int64_t r = first; r < first + rows; r++) {
      const int64_t i = r % count, bo = r / count, b = bo / outer;
      const int64_t from = (bo * dim + indices[b * count + i]) * slice;
      std::memcpy(out + r * slice, x + from, size_t(slice) * sizeof(uint32_t));
    }
  });
  return ANNEAL_DEVICE_OK;
}

int anneal_device_one_hot(const int32_t *indices, int64_t n, int64_t depth, uint32_t on,
                          uint32_t off, uint32_t *out) {
  if (n < 0 || depth < 0) return ANNEAL_DEVICE_INVALID;
  row_blocks(n, depth, [&](int64_t first, int64_t count) {
    for (int64_t r = first; r < first + count; r++) {
      fill_words(out + r * depth, depth, off);
      if (indices[r] >= 0 && indices[r] < depth) out[r * depth + indices[r]] = on;
    }
  });
  return ANNEAL_DEVICE_OK;
}

int anneal_device_select(const uint8_t *condition, const uint32_t *t, const uint32_t *e,
                         uint32_t *out, int64_t n) {
  if (n < 0) return ANNEAL_DEVICE_INVALID;
  row_blocks(n, 1, [&](int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; i++) out[i] = condition[i] == 1 ? t[i] : e[i];
  });
  return ANNEAL_DEVICE_OK;
}

int anneal_device_fill(uint32_t value, uint32_t *out, int64_t n) {
  if (n < 0) return ANNEAL_DEVICE_INVALID;
  row_blocks(n, 1, [&](int64_t first, int64_t count) { fill_words(out + first, count, value); });
  return ANNEAL_DEVICE_OK;
}

int anneal_device_arg_reduce(int op, int dtype, const void *x, int32_t *y, int64_t outer,
                             int64_t reduce, int64_t inner) {
  if (outer < 0 || reduce < 1 || inner < 0) return ANNEAL_DEVICE_INVALID;
  const bool max = op == ANNEAL_ARG_MAX;
  if (op != ANNEAL_ARG_MAX && op != ANNEAL_ARG_MIN) return ANNEAL_DEVICE_INVALID;
  if (dtype == ANNEAL_FLOAT32) {
    const float *v = static_cast<const float *>(x);
    max ? arg_reduce<float, true>(v, y, outer, reduce, inner)
        : arg_reduce<float, false>(v, y, outer, reduce, inner);
  } else if (dtype == ANNEAL_INT32) {
    const int32_t *v = static_cast<const int32_t *>(x);
    max ? arg_reduce<int32_t, true>(v, y, outer, reduce, inner)
        : arg_reduce<int32_t, false>(v, y, outer, reduce, inner);
  } else {
    return ANNEAL_DEVICE_INVALID;
  }
  return ANNEAL_DEVICE_OK;
}

int anneal_device_compare(int op, int dtype, int rank, const int64_t *out_dims, const void *a,
                          const int64_t *a_strides, const void *b, const int64_t *b_strides,
                          uint8_t *out) {
  if (rank < 1 || rank > kMaxRank) return ANNEAL_DEVICE_INVALID;
  switch (dtype) {
    case ANNEAL_FLOAT32:
      return compare_typed(op, rank, out_dims, static_cast<const float *>(a), a_strides,
                           static_cast<const float *>(b), b_strides, out);
    case ANNEAL_INT32:
      return compare_typed(op, rank, out_dims, static_cast<const int32_t *>(a), a_strides,
                           static_cast<const int32_t *>(b), b_strides, out);
    case ANNEAL_BOOL:
      return compare_typed(op, rank, out_dims, static_cast<const uint8_t *>(a), a_strides,
                           static_cast<const uint8_t *>(b), b_strides, out);
    default: return ANNEAL_DEVICE_INVALID;
  }
}

int anneal_device_cast(int from, const void *x, int to, void *y, int64_t n) {
  if (n < 0) return ANNEAL_DEVICE_INVALID;
  if (from == ANNEAL_FLOAT32 && to == ANNEAL_INT32) {
    cast_all(static_cast<const float *>(x), static_cast<int32_t *>(y), n,
             [](float v) { return anneal_rules::to_int32(v); });
  } else if (from == ANNEAL_FLOAT32 && to == ANNEAL_BOOL) {
    cast_all(static_cast<const float *>(x), static_cast<uint8_t *>(y), n,
             [](float v) { return anneal_rules::to_bool(v); });
  } else if (from == ANNEAL_INT32 && to == ANNEAL_BOOL) {
    cast_all(static_cast<const int32_t *>(x), static_cast<uint8_t *>(y), n,
             [](int32_t v) { return anneal_rules::to_bool(v); });
  } else {
    return ANNEAL_DEVICE_INVALID;
  }
  return ANNEAL_DEVICE_OK;
}

}  // extern "C"
