/*
 * The host device of anneal_device.h on oneDNN 2.6 (Debian's libdnnl, OpenMP threads): the
 * v2 API, whose ops are built from operation descriptors. Tensors are used where they are
 * (tfjs's row-major NHWC / HWIO memory, described to oneDNN by format tags or strides), with
 * one exception: a convolution's filter is reordered into (its gradient out of) the blocked
 * layout oneDNN picks, see ConvDescs. oneDNN's own primitive cache keeps the primitives of each
 * shape (creating the descriptors costs ~5 us a call, too little to be worth a cache of ours).
 */
#include "anneal_device.h"
#include "conv_check.h"

#include <omp.h>

#include <cstdio>
#include <exception>
#include <string>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

thread_local std::string last_error;

dnnl::engine &engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

/** Runs `body`, turning any exception into a status and the thread's last error. */
template <typename Body>
int guarded(const char *op, Body body) {
  try {
    return body();
  } catch (const dnnl::error &e) {
    last_error = std::string(op) + ": oneDNN status " + std::to_string(int(e.status)) + ": " +
                 e.what();
  } catch (const std::exception &e) {
    last_error = std::string(op) + ": " + e.what();
  }
  return ANNEAL_DEVICE_FAILED;
}

int invalid(const char *op, const std::string &what) {
  last_error = std::string(op) + ": " + what;
  return ANNEAL_DEVICE_INVALID;
}

/** The attribute that applies `activation` after the op (nothing for linear). */
bool activation_attr(int activation, float alpha, dnnl::primitive_attr &attr) {
  dnnl::post_ops ops;
  switch (activation) {
    case ANNEAL_ACT_LINEAR:
      return true;
    case ANNEAL_ACT_RELU:
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case ANNEAL_ACT_RELU6:
      ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f);
      break;
    case ANNEAL_ACT_ELU:
      ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f);
      break;
    case ANNEAL_ACT_LEAKYRELU:
      ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f);
      break;
    case ANNEAL_ACT_SIGMOID:
      ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f);
      break;
    default:
      return false;
  }
  attr.set_post_ops(ops);
  return true;
}

/** While alive (and `when`), the calling thread's OpenMP regions, oneDNN's too, use one thread. */
class OneThreadIf {
 public:
  explicit OneThreadIf(bool when) : saved_(when ? omp_get_max_threads() : 0) {
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~OneThreadIf() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }
  OneThreadIf(const OneThreadIf &) = delete;
  OneThreadIf &operator=(const OneThreadIf &) = delete;

 private:
  int saved_;
};

memory user_memory(const memory::desc &md, const float *data) {
  return memory(md, engine(), const_cast<float *>(data));
}

/**
 * oneDNN's view of a conv2d: NCHW-ordered dims over NHWC memory, HWIO filters. A depthwise
 * conv is the grouped conv with one group per input channel: tfjs's [kh, kw, in, multiplier]
 * filter is oneDNN's goihw {in, multiplier, 1, kh, kw}, described by strides over the same
 * memory (output channel c * multiplier + q is group c's q-th output in both).
 */
struct ConvDescs {
  memory::desc src, weights, bias, dst;
  // The filter the convolutions are created with: any layout, oneDNN's choice. With an HWIO
  // filter oneDNN 2.6 offers only its gemm convolutions (x64:gemm:jit), which at CNN sizes
  // take 2-3x the time of the jit / brgemm ones it picks with a blocked filter (~10x with a
  // fused bias + activation), reorder of the small filter included. The data stays NHWC,
  // which those kernels read as is: `any` data too costs reorders of large tensors (slower
  // overall, measured), and NHWC mixed with `any` data gets only the reference kernels.
  // (Backprop input from 1-3 channels runs a little slower: its blocks pad them to 16; in
  // training tfjs never asks for it, since the first layer's input needs no gradient.)
  // Depthwise convs alike: a filter read by strides gets gemm ones again, 10-200x slower than
  // the depthwise jit kernels with their reorder (at [32, 28, 28, 32] 3x3: 3.6 / 12 / 83 ms
  // against 0.4 / 0.4 / 0.4 ms forward / backprop input / backprop filter).
  memory::desc any_weights;
  memory::dims strides, dilates, pad_l, pad_r;

  ConvDescs(const anneal_conv2d &s, bool depthwise)
      : src({s.batch, s.in_channels, s.in_height, s.in_width}, dt::f32, tag::nhwc),
        weights(depthwise ? depthwise_weights(s)
                          : memory::desc({s.out_channels, s.in_channels, s.filter_height,
                                          s.filter_width},
                                         dt::f32, tag::hwio)),
        bias({s.out_channels}, dt::f32, tag::x),
        dst({s.batch, s.out_channels, s.out_height, s.out_width}, dt::f32, tag::nhwc),
        any_weights(weights.dims(), dt::f32, tag::any),
        strides({s.stride_height, s.stride_width}),
        // oneDNN counts dilation from 0 (no dilation), tfjs from 1.
        dilates({s.dilation_height - 1, s.dilation_width - 1}),
        pad_l({s.pad_top, s.pad_left}),
        pad_r({s.pad_bottom, s.pad_right}) {}

  static memory::desc depthwise_weights(const anneal_conv2d &s) {
    const int64_t mult = s.out_channels / s.in_channels;
    return memory::desc({s.in_channels, mult, 1, s.filter_height, s.filter_width}, dt::f32,
                        memory::dims{mult, 1, 1, s.filter_width * s.out_channels,
                                     s.out_channels});
  }

  dnnl::convolution_forward::primitive_desc forward(bool with_bias,
                                                    const dnnl::primitive_attr &attr) const {
    auto desc = with_bias ? dnnl::convolution_forward::desc(
                                dnnl::prop_kind::forward_training, algorithm::convolution_direct,
                                src, any_weights, bias, dst, strides, dilates, pad_l, pad_r)
                          : dnnl::convolution_forward::desc(
                                dnnl::prop_kind::forward_training, algorithm::convolution_direct,
                                src, any_weights, dst, strides, dilates, pad_l, pad_r);
    return dnnl::convolution_forward::primitive_desc(desc, attr, engine());
  }
};

/** The filter `w` (tfjs's layout) in the layout `want`: w's own memory if it is already, else a copy
 *  (made anew each call: the filter changes every training step). */
memory filter_in(const ConvDescs &d, const memory::desc &want, const float *w) {
  memory user = user_memory(d.weights, w);
  if (want == d.weights) return user;
  memory blocked(want, engine());
  dnnl::reorder(user, blocked).execute(stream(), user, blocked);
  return blocked;
}

using anneal_shapes::check_conv;

int conv_forward(const char *op, bool depthwise, const anneal_conv2d *shape, const float *x,
                 const float *w, const float *bias, float *y, int activation, float alpha) {
  if (const char *bad = check_conv(shape, depthwise)) return invalid(op, bad);
  return guarded(op, [&] {
    dnnl::primitive_attr attr;
    if (!activation_attr(activation, alpha, attr)) return invalid(op, "unknown activation");
    const ConvDescs d(*shape, depthwise);
    auto pd = d.forward(bias != nullptr, attr);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, user_memory(d.src, x)},
        {DNNL_ARG_WEIGHTS, filter_in(d, pd.weights_desc(), w)},
        {DNNL_ARG_DST, memory(d.dst, engine(), y)},
    };
    if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, user_memory(d.bias, bias));
    dnnl::convolution_forward(pd).execute(stream(), args);
    stream().wait();
    return int(ANNEAL_DEVICE_OK);
  });
}

int conv_backprop_input(const char *op, bool depthwise, const anneal_conv2d *shape,
                        const float *dy, const float *w, float *dx) {
  if (const char *bad = check_conv(shape, depthwise)) return invalid(op, bad);
  return guarded(op, [&] {
    const ConvDescs d(*shape, depthwise);
    auto hint = d.forward(false, dnnl::primitive_attr());
    dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, d.src,
                                               d.any_weights, d.dst, d.strides, d.dilates,
                                               d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, engine(), hint);
    const memory filter = filter_in(d, pd.weights_desc(), w);
    dnnl::convolution_backward_data(pd).execute(
        stream(), {{DNNL_ARG_DIFF_DST, user_memory(d.dst, dy)},
                   {DNNL_ARG_WEIGHTS, filter},
                   {DNNL_ARG_DIFF_SRC, memory(d.src, engine(), dx)}});
    stream().wait();
    return int(ANNEAL_DEVICE_OK);
  });
}

int conv_backprop_filter(const char *op, bool depthwise, const anneal_conv2d *shape,
                         const float *x, const float *dy, float *dw) {
  if (const char *bad = check_conv(shape, depthwise)) return invalid(op, bad);
  return guarded(op, [&] {
    const ConvDescs d(*shape, depthwise);
    auto hint = d.forward(false, dnnl::primitive_attr());
    dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct, d.src,
                                                  d.any_weights, d.dst, d.strides, d.dilates,
                                                  d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, engine(), hint);
    // The gradient comes out in oneDNN's filter layout; reorder it into dw (tfjs's) after.
    memory user_dw(d.weights, engine(), dw);
    const bool blocked = pd.diff_weights_desc() != d.weights;
    memory conv_dw = blocked ? memory(pd.diff_weights_desc(), engine()) : user_dw;
    dnnl::convolution_backward_weights(pd).execute(
        stream(), {{DNNL_ARG_SRC, user_memory(d.src, x)},
                   {DNNL_ARG_DIFF_DST, user_memory(d.dst, dy)},
                   {DNNL_ARG_DIFF_WEIGHTS, conv_dw}});
    if (blocked) dnnl::reorder(conv_dw, user_dw).execute(stream(), conv_dw, user_dw);
    stream().wait();
    return int(ANNEAL_DEVICE_OK);
  });
}

}  // namespace

extern "C" {

void anneal_device_describe(char *out, int size) {
  const dnnl_version_t *v = dnnl_version();
  std::snprintf(out, size_t(size), "host: oneDNN %d.%d.%d, %d threads", v->major, v->minor,
                v->patch, omp_get_max_threads());
}

const char *anneal_device_error(void) { return last_error.c_str(); }

void anneal_device_set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int anneal_device_threads(void) { return omp_get_max_threads(); }

int anneal_device_matmul(const float *a, const float *b, const float *bias, float *c,
                         int64_t batch_a, int64_t batch_b, int64_t m, int64_t k, int64_t n,
                         int transpose_a, int transpose_b, int activation, float alpha) {
  const char *op = "matmul";
  if (batch_a <= 0 || batch_b <= 0 || m <= 0 || k <= 0 || n <= 0)
    return invalid(op, "every size must be >= 1");
  if (batch_a != batch_b && batch_a != 1 && batch_b != 1)
    return invalid(op, "batch sizes must be equal, or one of them 1");
  return guarded(op, [&] {
    dnnl::primitive_attr attr;
    if (!activation_attr(activation, alpha, attr)) return invalid(op, "unknown activation");
    const int64_t batch = batch_a > batch_b ? batch_a : batch_b;
    // Logical [B, M, K] x [B, K, N]; a transposed operand is the same memory read by strides.
    const memory::desc a_md({batch_a, m, k}, dt::f32,
                            transpose_a ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
    const memory::desc b_md({batch_b, k, n}, dt::f32,
                            transpose_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    const memory::desc c_md({batch, m, n}, dt::f32, tag::abc);
    const memory::desc bias_md({1, 1, n}, dt::f32, tag::abc);
    auto desc = bias != nullptr ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md)
                                : dnnl::matmul::desc(a_md, b_md, c_md);
    // A small product runs on the calling thread alone: the pool's wake-up and barriers cost
    // more than a second thread saves (an MLP step at batch 64: 2.8 -> 2.2 ms, measured A/B on an
    // idle machine). oneDNN creates and caches a primitive per thread count.
    const double macs = double(batch) * double(m) * double(n) * double(k);
    const OneThreadIf one_thread(macs < double(1 << 24));
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, user_memory(a_md, a)},
        {DNNL_ARG_WEIGHTS, user_memory(b_md, b)},
        {DNNL_ARG_DST, memory(c_md, engine(), c)},
    };
    if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, user_memory(bias_md, bias));
    dnnl::matmul(pd).execute(stream(), args);
    stream().wait();
    return int(ANNEAL_DEVICE_OK);
  });
}

int anneal_device_conv2d(const anneal_conv2d *shape, const float *x, const float *w,
                         const float *bias, float *y, int activation, float alpha) {
  return conv_forward("conv2d", false, shape, x, w, bias, y, activation, alpha);
}

int anneal_device_conv2d_backprop_input(const anneal_conv2d *shape, const float *dy,
                                        const float *w, float *dx) {
  return conv_backprop_input("conv2d backprop input", false, shape, dy, w, dx);
}

int anneal_device_conv2d_backprop_filter(const anneal_conv2d *shape, const float *x,
                                         const float *dy, float *dw) {
  return conv_backprop_filter("conv2d backprop filter", false, shape, x, dy, dw);
}

int anneal_device_depthwise_conv2d(const anneal_conv2d *shape, const float *x, const float *w,
                                   float *y) {
  return conv_forward("depthwise conv2d", true, shape, x, w, nullptr, y, ANNEAL_ACT_LINEAR, 0.f);
}

int anneal_device_depthwise_conv2d_backprop_input(const anneal_conv2d *shape, const float *dy,
                                                  const float *w, float *dx) {
  return conv_backprop_input("depthwise conv2d backprop input", true, shape, dy, w, dx);
}

int anneal_device_depthwise_conv2d_backprop_filter(const anneal_conv2d *shape, const float *x,
                                                   const float *dy, float *dw) {
  return conv_backprop_filter("depthwise conv2d backprop filter", true, shape, x, dy, dw);
}

}  // extern "C"
