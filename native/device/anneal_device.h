/*
 * The device interface of anneal's TensorFlow.js backend (src/backend): the kernels a device
 * runs on tensors that live in its memory, behind a plain C ABI. The host device implements it
 * on oneDNN (native/host/device_host.cpp); the CUDA device is to implement the same header.
 *
 * Layouts are TensorFlow.js's: row-major, images NHWC, convolution filters HWIO
 * ([kh, kw, in, out]). Every function returns 0 or a status from the list below, and
 * anneal_device_error() says what went wrong in the calling thread's last failed call.
 */
#ifndef ANNEAL_DEVICE_H
#define ANNEAL_DEVICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum anneal_device_status {
  ANNEAL_DEVICE_OK = 0,
  /* The arguments do not describe a valid op (a size <= 0, a shape that does not fit). */
  ANNEAL_DEVICE_INVALID = 1,
  /* The device library refused or failed the op; anneal_device_error() has its message. */
  ANNEAL_DEVICE_FAILED = 2,
};

/* The activation fused after a matmul or convolution (+ bias), as tfjs's fused ops name them. */
enum anneal_activation {
  ANNEAL_ACT_LINEAR = 0,
  ANNEAL_ACT_RELU = 1,
  ANNEAL_ACT_RELU6 = 2,
  ANNEAL_ACT_ELU = 3,
  ANNEAL_ACT_LEAKYRELU = 4, /* with alpha */
  ANNEAL_ACT_SIGMOID = 5,
};

/* The device's name ("host: oneDNN 2.6.3, 2 threads") into `out` (at most `size` bytes). */
void anneal_device_describe(char *out, int size);

/* The calling thread's message for its last failed call. */
const char *anneal_device_error(void);

/* Threads the device's kernels use (0: the machine's cores). */
void anneal_device_set_threads(int threads);
int anneal_device_threads(void);

/*
 * c[b] = act(op(a[b]) x op(b[b]) + bias), op = transpose or not; a is [batchA, M, K] (or
 * [batchA, K, M] with transpose_a), b is [batchB, K, N] (or [batchB, N, K]), c is
 * [max(batchA, batchB), M, N]. A batch of 1 broadcasts. bias: NULL or N values.
 */
int anneal_device_matmul(const float *a, const float *b, const float *bias, float *c,
                         int64_t batch_a, int64_t batch_b, int64_t m, int64_t k, int64_t n,
                         int transpose_a, int transpose_b, int activation, float alpha);

/* One 2-D convolution's shapes, NHWC with HWIO filters; padding as tfjs computes it. */
struct anneal_conv2d {
  int64_t batch, in_height, in_width, in_channels;
  int64_t filter_height, filter_width, out_channels;
  int64_t out_height, out_width;
  int64_t stride_height, stride_width;
  int64_t dilation_height, dilation_width; /* 1 = no dilation */
  int64_t pad_top, pad_left, pad_bottom, pad_right;
};

/* y = act(conv(x, w) + bias); bias: NULL or out_channels values. */
int anneal_device_conv2d(const struct anneal_conv2d *shape, const float *x, const float *w,
                         const float *bias, float *y, int activation, float alpha);

/* dx = the gradient of conv(x, w) with respect to x, given dy. */
int anneal_device_conv2d_backprop_input(const struct anneal_conv2d *shape, const float *dy,
                                        const float *w, float *dx);

/* dw = the gradient of conv(x, w) with respect to w, given dy. */
int anneal_device_conv2d_backprop_filter(const struct anneal_conv2d *shape, const float *x,
                                         const float *dy, float *dw);

/*
 * Depthwise convolutions (tfjs's DepthwiseConv2dNative and its backprops): the filter is
 * [kh, kw, in_channels, multiplier], out_channels = in_channels * multiplier, and output channel
 * c * multiplier + q is input channel c convolved with filter[.., .., c, q].
 */
int anneal_device_depthwise_conv2d(const struct anneal_conv2d *shape, const float *x,
                                   const float *w, float *y);
int anneal_device_depthwise_conv2d_backprop_input(const struct anneal_conv2d *shape,
                                                  const float *dy, const float *w, float *dx);
int anneal_device_depthwise_conv2d_backprop_filter(const struct anneal_conv2d *shape,
                                                   const float *x, const float *dy, float *dw);

/* Elementwise binary ops, as tfjs's kernels of the same names compute them. */
enum anneal_binary {
  ANNEAL_BIN_ADD = 0,
  ANNEAL_BIN_SUB = 1,
  ANNEAL_BIN_MUL = 2,
  ANNEAL_BIN_DIV = 3,
  ANNEAL_BIN_MAX = 4,
  ANNEAL_BIN_MIN = 5,
  ANNEAL_BIN_SQUARED_DIFFERENCE = 6,
  /* out = a (b unused): a strided gather, for Transpose, Tile and slices. */
  ANNEAL_BIN_COPY = 7,
  /* out = a * step(b): ReLU's gradient, dy * step(x), in one pass (NaN where b is NaN). */
  ANNEAL_BIN_RELU_GRAD = 8,
};

/*
 * out[i] = op(a[ia], b[ib]) over an output of `rank` (<= 6) dims; a_strides and b_strides give
 * each input's stride per output dim, 0 where it broadcasts.
 */
int anneal_device_binary(int op, int rank, const int64_t *out_dims, const float *a,
                         const int64_t *a_strides, const float *b, const int64_t *b_strides,
                         float *out);

/* Elementwise unary ops; alpha is Step's value for x <= 0 (tfjs's Step) and unused otherwise. */
enum anneal_unary {
  ANNEAL_UN_RELU = 0,
  ANNEAL_UN_STEP = 1,
  ANNEAL_UN_SQUARE = 2,
  ANNEAL_UN_NEG = 3,
  ANNEAL_UN_EXP = 4,
  ANNEAL_UN_LOG = 5,
  ANNEAL_UN_SQRT = 6,
  ANNEAL_UN_RSQRT = 7,
  ANNEAL_UN_SIGMOID = 8,
  ANNEAL_UN_TANH = 9,
  ANNEAL_UN_ABS = 10,
  /* tfjs's Erf: Abramowitz and Stegun's 7.1.26 (error < 1.5e-7), in double, as tfjs computes it. */
  ANNEAL_UN_ERF = 11,
};

int anneal_device_unary(int op, const float *x, float *y, int64_t n, float alpha);

/* Reductions of x viewed as [outer, reduce, inner] to y [outer, inner]. */
enum anneal_reduce {
  ANNEAL_RED_SUM = 0,
  ANNEAL_RED_MEAN = 1,
  ANNEAL_RED_MAX = 2,
  ANNEAL_RED_MIN = 3,
};

/* The same result whatever the thread count: each output's order of folding is fixed by the
 * shape alone. */
int anneal_device_reduce(int op, const float *x, float *y, int64_t outer, int64_t reduce,
                         int64_t inner);

/* Softmax over the last axis of x viewed as [rows, n]: exp(x - max) / sum, row by row. */
int anneal_device_softmax(const float *x, float *y, int64_t rows, int64_t n);

/*
 * Softmax cross-entropy of logits against labels, both [rows, n], as tfjs's
 * softmaxCrossEntropyWithLogits computes it (element_rules.h): loss[r] = -sum over j of
 * (logits[r, j] - lse[r]) labels[r, j] with lse[r] = log sum exp logits[r]; and its gradient,
 * tfjs's: dlogits[r, j] = dy[r] (exp(logits[r, j] - lse[r]) - labels[r, j]), lse computed again
 * (a pass over a row of logits, where keeping it would make the loss a second output).
 */
int anneal_device_cross_entropy(const float *logits, const float *labels, int64_t rows,
                                int64_t n, float *loss);
int anneal_device_cross_entropy_grad(const float *logits, const float *labels, const float *dy,
                                     int64_t rows, int64_t n, float *dlogits);

/* One 2-D pooling's shapes, NHWC; padding as tfjs computes it. */
struct anneal_pool2d {
  int64_t batch, in_height, in_width, channels;
  int64_t filter_height, filter_width, out_height, out_width;
  int64_t stride_height, stride_width, dilation_height, dilation_width;
  int64_t pad_top, pad_left;
};

/* Max pooling (padding never wins) and its gradient: dy goes to each window's first maximum. */
int anneal_device_max_pool(const struct anneal_pool2d *shape, const float *x, float *y);
int anneal_device_max_pool_grad(const struct anneal_pool2d *shape, const float *x,
                                const float *dy, float *dx);

/*
 * Average pooling over each window's positions inside the image, and its gradient, which (as
 * tfjs's AvgPoolGrad does) spreads dy / (filter_height * filter_width) over the whole window.
 */
int anneal_device_avg_pool(const struct anneal_pool2d *shape, const float *x, float *y);
int anneal_device_avg_pool_grad(const struct anneal_pool2d *shape, const float *dy, float *dx);

/*
 * tfjs's FusedBatchNorm: out[i] = offset[i % no] + (x[i] - mean[i % nm]) * scale[i % ns] /
 * sqrt(variance[i % nv] + epsilon), each parameter read cyclically as tfjs's kernels read it
 * (in practice all of length channels, or 1); scale and offset may be NULL (1 and 0).
 */
int anneal_device_batch_norm(const float *x, int64_t n, const float *mean, int64_t nm,
                             const float *variance, int64_t nv, const float *scale, int64_t ns,
                             const float *offset, int64_t no, double epsilon, float *out);

/*
 * Batch norm in training, x viewed as [rows, channels] (channels last), in two calls where tfjs
 * takes tf.moments' four kernels and a gradient of a dozen through them:
 * - moments: mean[c] = sum over r of x[r, c] / rows, then variance[c] = sum over r of
 *   (x[r, c] - mean[c])^2 / rows (tf.moments' biased variance), each summed in double, in parts
 *   whose places depend only on the shape (the same bits on any thread count); where moving_mean
 *   and moving_variance are given, also tfjs-layers' moving averages of them, each
 *   moving - (moving - batch value) * decay in float, into new_moving_mean and
 *   new_moving_variance;
 * - batch_norm_grad: the gradient through x of y = (x - mean) r scale + offset with the batch's
 *   own mean and variance, r = 1 / sqrt(variance + epsilon), and of the mean and variance
 *   outputs (dmean, dvariance; NULL: 0). With S = sum over r of dy and P = sum over r of
 *   dy (x - mean):
 *     dx = scale r (dy - S / rows - (x - mean) r^2 P / rows) + dmean / rows
 *          + 2 (x - mean) dvariance / rows,
 *     dscale = r P, doffset = S; scale NULL means 1.
 */
int anneal_device_moments(const float *x, int64_t rows, int64_t channels, float *mean,
                          float *variance, const float *moving_mean,
                          const float *moving_variance, float decay, float *new_moving_mean,
                          float *new_moving_variance);
/*
 * Layer norm over the last axis of x viewed as [rows, n], as tfjs-layers' LayerNormalization
 * computes it: each row's mean and biased variance (row_moments), then FusedBatchNorm's value
 * with them and scale[j], offset[j] (NULL: 1, 0). And its gradient through x (the statistics
 * included), scale and offset: dscale[j] = sum over rows of dy xhat, doffset[j] = sum of dy,
 * summed in double in parts whose places depend only on the shape.
 */
int anneal_device_layer_norm(const float *x, int64_t rows, int64_t n, const float *scale,
                             const float *offset, double epsilon, float *y, float *mean,
                             float *variance);
int anneal_device_layer_norm_grad(const float *x, const float *dy, int64_t rows, int64_t n,
                                  const float *mean, const float *variance, const float *scale,
                                  double epsilon, float *dx, float *dscale, float *doffset);
int anneal_device_batch_norm_grad(const float *x, const float *dy, int64_t rows,
                                  int64_t channels, const float *mean, const float *variance,
                                  const float *scale, const float *dmean,
                                  const float *dvariance, double epsilon, float *dx,
                                  float *dscale, float *doffset);

/*
 * Concatenation along one axis: the inputs viewed as [outer, widths[i]], the output as
 * [outer, sum of widths]; each output row is the inputs' rows side by side.
 */
int anneal_device_concat(int count, const float *const *inputs, const int64_t *widths,
                         int64_t outer, float *out);

/*
 * Indexing kernels (tfjs's Pad, GatherV2, OneHot, Select, ArgMax/ArgMin, the comparisons, Cast
 * and Fill), each as tfjs-backend-cpu computes it. The ones that only move values take 32-bit
 * words: one call serves float32 and int32 tensors, and `value` is the word to write (the
 * float's or the int's bits). Booleans are one byte, 0 or 1.
 */
enum anneal_dtype {
  ANNEAL_FLOAT32 = 0,
  ANNEAL_INT32 = 1,
  ANNEAL_BOOL = 2,
};

/*
 * out = x padded with `value`: x is [in_dims] (rank <= 6), out [before + in_dims + after] per
 * dim.
 */
int anneal_device_pad(int rank, const int64_t *in_dims, const int64_t *before,
                      const int64_t *after, const uint32_t *x, uint32_t value, uint32_t *out);

/*
 * GatherV2 with x viewed as [batch, outer, dim, slice] and indices as [batch, count]:
 * out[b, o, i, s] = x[b, o, indices[b, i], s]. ANNEAL_DEVICE_INVALID, nothing written, when an
 * index is outside [0, dim).
 */
int anneal_device_gather(const uint32_t *x, int64_t batch, int64_t outer, int64_t dim,
                         int64_t slice, const int32_t *indices, int64_t count, uint32_t *out);

/* out [n, depth]: `on` at [i, indices[i]] where that index is in [0, depth), `off` elsewhere. */
int anneal_device_one_hot(const int32_t *indices, int64_t n, int64_t depth, uint32_t on,
                          uint32_t off, uint32_t *out);

/* out[i] = condition[i] == 1 ? t[i] : e[i]. */
int anneal_device_select(const uint8_t *condition, const uint32_t *t, const uint32_t *e,
                         uint32_t *out, int64_t n);

/* out[i] = value. */
int anneal_device_fill(uint32_t value, uint32_t *out, int64_t n);

/*
 * The index along the middle axis of x [outer, reduce, inner] (float32 or int32) of its
 * largest (ANNEAL_ARG_MAX) or smallest value: the first one wins a tie, and a NaN never wins
 * but where it comes first (tfjs's loop compares each value with the best so far). y: [outer,
 * inner].
 */
enum anneal_arg_reduce {
  ANNEAL_ARG_MAX = 0,
  ANNEAL_ARG_MIN = 1,
};
int anneal_device_arg_reduce(int op, int dtype, const void *x, int32_t *y, int64_t outer,
                             int64_t reduce, int64_t inner);

/* out[i] = a[ia] op b[ib] (1 or 0), a and b of `dtype`, read by strides as anneal_device_binary. */
enum anneal_compare {
  ANNEAL_CMP_EQUAL = 0,
  ANNEAL_CMP_NOT_EQUAL = 1,
  ANNEAL_CMP_GREATER = 2,
  ANNEAL_CMP_GREATER_EQUAL = 3,
  ANNEAL_CMP_LESS = 4,
  ANNEAL_CMP_LESS_EQUAL = 5,
};
int anneal_device_compare(int op, int dtype, int rank, const int64_t *out_dims, const void *a,
                          const int64_t *a_strides, const void *b, const int64_t *b_strides,
                          uint8_t *out);

/*
 * y = x cast as tfjs casts: to int32 as JavaScript's ToInt32 (toward 0, modulo 2^32; NaN and
 * infinities 0), to bool x != 0 (NaN is true). Takes float32 -> int32, float32 -> bool and
 * int32 -> bool; and the casts that lose nothing, which tfjs's Cast leaves as they are but a
 * kernel may need in the wider type: int32 -> float32 (rounded to nearest), bool -> float32 and
 * bool -> int32 (0 or 1).
 */
int anneal_device_cast(int from, const void *x, int to, void *y, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* ANNEAL_DEVICE_H */
