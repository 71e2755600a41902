/*
 * The N-API binding of anneal_device.h for the TensorFlow.js backend (src/backend), in two modes:
 * - host mode: the host device's addon, anneal_host.node. Tensors arrive as typed arrays
 *   (tfjs's own buffers, used in place: Float32Array, Int32Array, Uint8Array for bool);
 * - vector mode (ANNEAL_DEVICE_VECTORS): linked into the kernels addon (anneal_cpu.node,
 *   anneal_cuda.node) as its `device` object, the same functions, names and argument order,
 *   where every array is a DeviceVector of that addon (device_vector.h), its dtype in the typed
 *   array's role (float32: Float32Array, int32: Int32Array, bool: Uint8Array).
 * Every function reads its arrays through one accessor (array_of), so the logic and the checks
 * are written once; every length is checked against the sizes here, so a wrong argument is a JS
 * exception with a `code`, never a write out of bounds.
 */
#include <napi.h>

#include <string>
#include <vector>

#include "anneal_device.h"
#ifdef ANNEAL_DEVICE_VECTORS
#include "device_vector.h"
#endif

namespace {

[[noreturn]] void fail(Napi::Env env, const std::string &message, const char *code) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", code);
  throw error;
}

void check_status(Napi::Env env, int status) {
  if (status == ANNEAL_DEVICE_OK) return;
  Napi::Error error = Napi::Error::New(env, anneal_device_error());
  error.Set("code", status == ANNEAL_DEVICE_INVALID ? "ANNEAL_DEVICE_INVALID"
                                                    : "ANNEAL_DEVICE_FAILED");
  throw error;
}

int64_t integer(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (!info[i].IsNumber()) fail(info.Env(), std::string(name) + " must be a number", "ANNEAL_DEVICE_ARGUMENT");
  return info[i].As<Napi::Number>().Int64Value();
}

/** An array argument: its first value, how many values it holds, its anneal_dtype. */
struct Array {
  void *data = nullptr;
  int64_t length = 0;
  int dtype = -1;  // -1: not an array of this mode
};

#ifdef ANNEAL_DEVICE_VECTORS
const char *const kArrayNames[] = {"a float32 DeviceVector", "an int32 DeviceVector",
                                   "a bool DeviceVector"};
const char *const kWordsName = "a float32 or int32 DeviceVector";

/** `v` as a DeviceVector of this addon (dtype -1 when it is not one); a freed one throws. */
Array array_of(Napi::Env env, const Napi::Value &v, const std::string &name) {
  if (!anneal_binding::is_vector(env, v)) return {};
  const anneal_binding::DeviceVector *vector = anneal_binding::as_vector(env, v, name, -1);
  return {vector->data(), int64_t(vector->length()), vector->dtype()};
}
#else
const char *const kArrayNames[] = {"a Float32Array", "an Int32Array", "a Uint8Array"};
const char *const kWordsName = "a Float32Array or an Int32Array";

/** `v` as a typed array (Uint8Array: bool), dtype -1 when it is none of the three. */
Array array_of(Napi::Env, const Napi::Value &v, const std::string &) {
  if (!v.IsTypedArray()) return {};
  auto array = v.As<Napi::TypedArray>();
  int dtype = -1;
  switch (array.TypedArrayType()) {
    case napi_float32_array: dtype = ANNEAL_FLOAT32; break;
    case napi_int32_array: dtype = ANNEAL_INT32; break;
    case napi_uint8_array: dtype = ANNEAL_BOOL; break;
    default: return {};
  }
  return {static_cast<uint8_t *>(array.ArrayBuffer().Data()) + array.ByteOffset(),
          int64_t(array.ElementLength()), dtype};
}
#endif

/** An argument's anneal_dtype, or -1 when it is not an array of this mode. */
int dtype_of(const Napi::CallbackInfo &info, size_t i) {
  return array_of(info.Env(), info[i], "argument " + std::to_string(i)).dtype;
}

/** An argument's number of values (0 when it is not an array: its check then fails). */
int64_t length_of(const Napi::CallbackInfo &info, size_t i) {
  return array_of(info.Env(), info[i], "argument " + std::to_string(i)).length;
}

// `typed`'s dtype for 32-bit words: float32 or int32.
constexpr int kWords = -2;

/**
 * The data of an array `v` of `dtype` (or kWords) with exactly `length` values, or at least
 * `length` when `at_least`.
 */
void *typed_value(Napi::Env env, const Napi::Value &v, const std::string &name, int dtype,
                  int64_t length, bool at_least = false) {
  const Array array = array_of(env, v, name);
  const bool words = dtype == kWords;
  if (words ? array.dtype != ANNEAL_FLOAT32 && array.dtype != ANNEAL_INT32 : array.dtype != dtype)
    fail(env, name + " must be " + (words ? kWordsName : kArrayNames[dtype]),
         "ANNEAL_DEVICE_ARGUMENT");
  if (at_least ? array.length < length : array.length != length)
    fail(env,
         name + " has " + std::to_string(array.length) + " values, expected " +
             (at_least ? "at least " : "") + std::to_string(length),
         "ANNEAL_DEVICE_ARGUMENT");
  return array.data;
}

void *typed(const Napi::CallbackInfo &info, size_t i, const char *name, int dtype,
            int64_t length, bool at_least = false) {
  return typed_value(info.Env(), info[i], name, dtype, length, at_least);
}

/** A float32 argument of exactly `length` values (or null when `optional`). */
float *floats(const Napi::CallbackInfo &info, size_t i, const char *name, int64_t length,
              bool optional = false) {
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  return static_cast<float *>(typed(info, i, name, ANNEAL_FLOAT32, length));
}

/** A float32 argument of any length (its length is the caller's to check). */
Array any_floats(const Napi::CallbackInfo &info, size_t i, const char *name) {
  const Array array = array_of(info.Env(), info[i], name);
  if (array.dtype != ANNEAL_FLOAT32)
    fail(info.Env(), std::string(name) + " must be " + kArrayNames[ANNEAL_FLOAT32],
         "ANNEAL_DEVICE_ARGUMENT");
  return array;
}

Napi::Value Describe(const Napi::CallbackInfo &info) {
  char text[256];
  anneal_device_describe(text, sizeof text);
  return Napi::String::New(info.Env(), text);
}

Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  anneal_device_set_threads(int(integer(info, 0, "threads")));
  return Napi::Number::New(info.Env(), anneal_device_threads());
}

/** matmul(a, b, bias | null, c, batchA, batchB, m, k, n, transposeA, transposeB, act, alpha) */
Napi::Value Matmul(const Napi::CallbackInfo &info) {
  const int64_t batch_a = integer(info, 4, "batchA"), batch_b = integer(info, 5, "batchB");
  const int64_t m = integer(info, 6, "m"), k = integer(info, 7, "k"), n = integer(info, 8, "n");
  const int64_t batch = batch_a > batch_b ? batch_a : batch_b;
  const float *a = floats(info, 0, "a", batch_a * m * k);
  const float *b = floats(info, 1, "b", batch_b * k * n);
  const float *bias = floats(info, 2, "bias", n, true);
  float *c = floats(info, 3, "c", batch * m * n);
  check_status(info.Env(),
               anneal_device_matmul(a, b, bias, c, batch_a, batch_b, m, k, n,
                                    info[9].ToBoolean(), info[10].ToBoolean(),
                                    int(integer(info, 11, "activation")),
                                    float(info[12].ToNumber().DoubleValue())));
  return info.Env().Undefined();
}

/** The conv2d shape from an array of 17 numbers, in anneal_conv2d's field order. */
anneal_conv2d conv_shape(const Napi::CallbackInfo &info) {
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() != 17)
    fail(info.Env(), "shape must be an array of 17 numbers", "ANNEAL_DEVICE_ARGUMENT");
  auto array = info[0].As<Napi::Array>();
  int64_t v[17];
  for (uint32_t i = 0; i < 17; i++) v[i] = array.Get(i).ToNumber().Int64Value();
  return {v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6],  v[7], v[8],
          v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
}

int64_t x_size(const anneal_conv2d &s) { return s.batch * s.in_height * s.in_width * s.in_channels; }
/** A conv filter's values; a depthwise one's is [kh, kw, in, out / in]. */
int64_t w_size(const anneal_conv2d &s, bool depthwise = false) {
  return s.filter_height * s.filter_width * (depthwise ? 1 : s.in_channels) * s.out_channels;
}
int64_t y_size(const anneal_conv2d &s) {
  return s.batch * s.out_height * s.out_width * s.out_channels;
}

/** conv2d(shape, x, w, bias | null, y, activation, alpha) */
Napi::Value Conv2d(const Napi::CallbackInfo &info) {
  const anneal_conv2d s = conv_shape(info);
  const float *x = floats(info, 1, "x", x_size(s));
  const float *w = floats(info, 2, "filter", w_size(s));
  const float *bias = floats(info, 3, "bias", s.out_channels, true);
  float *y = floats(info, 4, "y", y_size(s));
  check_status(info.Env(), anneal_device_conv2d(&s, x, w, bias, y,
                                                int(integer(info, 5, "activation")),
                                                float(info[6].ToNumber().DoubleValue())));
  return info.Env().Undefined();
}

using ConvBackprop = int (*)(const anneal_conv2d *, const float *, const float *, float *);

/** conv2dBackpropInput / depthwiseConv2dBackpropInput(shape, dy, w, dx) */
template <ConvBackprop Device, bool Depthwise>
Napi::Value BackpropInput(const Napi::CallbackInfo &info) {
  const anneal_conv2d s = conv_shape(info);
  const float *dy = floats(info, 1, "dy", y_size(s));
  const float *w = floats(info, 2, "filter", w_size(s, Depthwise));
  float *dx = floats(info, 3, "dx", x_size(s));
  check_status(info.Env(), Device(&s, dy, w, dx));
  return info.Env().Undefined();
}

/** conv2dBackpropFilter / depthwiseConv2dBackpropFilter(shape, x, dy, dw) */
template <ConvBackprop Device, bool Depthwise>
Napi::Value BackpropFilter(const Napi::CallbackInfo &info) {
  const anneal_conv2d s = conv_shape(info);
  const float *x = floats(info, 1, "x", x_size(s));
  const float *dy = floats(info, 2, "dy", y_size(s));
  float *dw = floats(info, 3, "dw", w_size(s, Depthwise));
  check_status(info.Env(), Device(&s, x, dy, dw));
  return info.Env().Undefined();
}

/** depthwiseConv2d(shape, x, w, y), shape.out_channels = in_channels * multiplier */
Napi::Value DepthwiseConv2d(const Napi::CallbackInfo &info) {
  const anneal_conv2d s = conv_shape(info);
  const float *x = floats(info, 1, "x", x_size(s));
  const float *w = floats(info, 2, "filter", w_size(s, true));
  float *y = floats(info, 3, "y", y_size(s));
  check_status(info.Env(), anneal_device_depthwise_conv2d(&s, x, w, y));
  return info.Env().Undefined();
}

/** Up to 6 integers from a JS array argument. */
std::vector<int64_t> dims(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (!info[i].IsArray()) fail(info.Env(), std::string(name) + " must be an array", "ANNEAL_DEVICE_ARGUMENT");
  auto array = info[i].As<Napi::Array>();
  if (array.Length() < 1 || array.Length() > 6)
    fail(info.Env(), std::string(name) + " must have 1 to 6 entries", "ANNEAL_DEVICE_ARGUMENT");
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); k++) out[k] = array.Get(k).ToNumber().Int64Value();
  return out;
}

/** The values an input of `strides` over `out` reads: 1 + the largest offset. */
int64_t extent(const std::vector<int64_t> &out, const std::vector<int64_t> &strides) {
  int64_t last = 0;
  for (size_t k = 0; k < out.size(); k++) {
    if (out[k] <= 0 || strides[k] < 0) return -1;
    last += (out[k] - 1) * strides[k];
  }
  return last + 1;
}

/** binary(op, outDims, a, aStrides, b, bStrides, out) */
Napi::Value Binary(const Napi::CallbackInfo &info) {
  const int op = int(integer(info, 0, "op"));
  const auto out_dims = dims(info, 1, "outDims");
  const auto a_strides = dims(info, 3, "aStrides");
  const auto b_strides = dims(info, 5, "bStrides");
  if (a_strides.size() != out_dims.size() || b_strides.size() != out_dims.size())
    fail(info.Env(), "strides must have one entry per output dim", "ANNEAL_DEVICE_ARGUMENT");
  const int64_t na = extent(out_dims, a_strides), nb = extent(out_dims, b_strides);
  if (na < 0 || nb < 0) fail(info.Env(), "dims must be >= 1 and strides >= 0", "ANNEAL_DEVICE_ARGUMENT");
  int64_t n = 1;
  for (int64_t d : out_dims) n *= d;
  // An input may hold more values than it reads (a broadcast row), never fewer.
  const float *a = static_cast<float *>(typed(info, 2, "a", ANNEAL_FLOAT32, na, true));
  const float *b = static_cast<float *>(typed(info, 4, "b", ANNEAL_FLOAT32, nb, true));
  float *out = floats(info, 6, "out", n);
  check_status(info.Env(), anneal_device_binary(op, int(out_dims.size()), out_dims.data(), a,
                                                a_strides.data(), b, b_strides.data(), out));
  return info.Env().Undefined();
}

/** unary(op, x, y, alpha) */
Napi::Value Unary(const Napi::CallbackInfo &info) {
  const int64_t n = length_of(info, 1);
  const float *x = floats(info, 1, "x", n);
  float *y = floats(info, 2, "y", n);
  check_status(info.Env(), anneal_device_unary(int(integer(info, 0, "op")), x, y, n,
                                               float(info[3].ToNumber().DoubleValue())));
  return info.Env().Undefined();
}

/** reduce(op, x, y, outer, reduce, inner) */
Napi::Value Reduce(const Napi::CallbackInfo &info) {
  const int64_t outer = integer(info, 3, "outer"), reduce = integer(info, 4, "reduce"),
                inner = integer(info, 5, "inner");
  const float *x = floats(info, 1, "x", outer * reduce * inner);
  float *y = floats(info, 2, "y", outer * inner);
  check_status(info.Env(), anneal_device_reduce(int(integer(info, 0, "op")), x, y, outer, reduce, inner));
  return info.Env().Undefined();
}

/** softmax(x, y, rows, n) */
Napi::Value Softmax(const Napi::CallbackInfo &info) {
  const int64_t rows = integer(info, 2, "rows"), n = integer(info, 3, "n");
  const float *x = floats(info, 0, "x", rows * n);
  float *y = floats(info, 1, "y", rows * n);
  check_status(info.Env(), anneal_device_softmax(x, y, rows, n));
  return info.Env().Undefined();
}

/** The pool2d shape from an array of 14 numbers, in anneal_pool2d's field order. */
anneal_pool2d pool_shape(const Napi::CallbackInfo &info) {
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() != 14)
    fail(info.Env(), "shape must be an array of 14 numbers", "ANNEAL_DEVICE_ARGUMENT");
  auto array = info[0].As<Napi::Array>();
  int64_t v[14];
  for (uint32_t i = 0; i < 14; i++) v[i] = array.Get(i).ToNumber().Int64Value();
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]};
}

int64_t pool_in(const anneal_pool2d &s) { return s.batch * s.in_height * s.in_width * s.channels; }
int64_t pool_out(const anneal_pool2d &s) {
  return s.batch * s.out_height * s.out_width * s.channels;
}

/** pool(kind, shape, x, y): kind 'max' or 'avg' */
Napi::Value Pool(const Napi::CallbackInfo &info) {
  const anneal_pool2d s = pool_shape(info);
  const float *x = floats(info, 1, "x", pool_in(s));
  float *y = floats(info, 2, "y", pool_out(s));
  const bool max = info[3].ToBoolean();
  check_status(info.Env(), max ? anneal_device_max_pool(&s, x, y) : anneal_device_avg_pool(&s, x, y));
  return info.Env().Undefined();
}

/** maxPoolGrad(shape, x, dy, dx) */
Napi::Value MaxPoolGrad(const Napi::CallbackInfo &info) {
  const anneal_pool2d s = pool_shape(info);
  const float *x = floats(info, 1, "x", pool_in(s));
  const float *dy = floats(info, 2, "dy", pool_out(s));
  float *dx = floats(info, 3, "dx", pool_in(s));
  check_status(info.Env(), anneal_device_max_pool_grad(&s, x, dy, dx));
  return info.Env().Undefined();
}

/** avgPoolGrad(shape, dy, dx) */
Napi::Value AvgPoolGrad(const Napi::CallbackInfo &info) {
  const anneal_pool2d s = pool_shape(info);
  const float *dy = floats(info, 1, "dy", pool_out(s));
  float *dx = floats(info, 2, "dx", pool_in(s));
  check_status(info.Env(), anneal_device_avg_pool_grad(&s, dy, dx));
  return info.Env().Undefined();
}

/** batchNorm(x, mean, variance, scale | null, offset | null, epsilon, out) */
Napi::Value BatchNorm(const Napi::CallbackInfo &info) {
  auto x = any_floats(info, 0, "x");
  auto mean = any_floats(info, 1, "mean");
  auto variance = any_floats(info, 2, "variance");
  const bool has_scale = !(info[3].IsNull() || info[3].IsUndefined());
  const bool has_offset = !(info[4].IsNull() || info[4].IsUndefined());
  const Array scale = has_scale ? any_floats(info, 3, "scale") : Array{};
  const Array offset = has_offset ? any_floats(info, 4, "offset") : Array{};
  const int64_t n = x.length;
  float *out = floats(info, 6, "out", n);
  check_status(info.Env(),
               anneal_device_batch_norm(
                   static_cast<float *>(x.data), n, static_cast<float *>(mean.data), mean.length,
                   static_cast<float *>(variance.data), variance.length,
                   static_cast<float *>(scale.data), scale.length,
                   static_cast<float *>(offset.data), offset.length,
                   info[5].ToNumber().DoubleValue(), out));
  return info.Env().Undefined();
}

/**
 * Argument 0 (`name`) as rows of `width` values (its `unit`): how many, or a coded error naming
 * both.
 */
int64_t rows_of(const Napi::CallbackInfo &info, int64_t width, const char *name,
                const char *unit) {
  const int64_t n = length_of(info, 0);
  if (width < 1 || n < 1 || n % width != 0) {
    fail(info.Env(),
         std::string(name) + "'s " + std::to_string(n) + " values are not rows of " +
             std::to_string(width) + " " + unit + " (expected " + unit +
             " >= 1 dividing a nonzero length)",
         "ANNEAL_DEVICE_ARGUMENT");
  }
  return n / width;
}

/**
 * moments(x, channels, mean, variance, movingMean | null, movingVariance | null, decay,
 * newMovingMean | null, newMovingVariance | null): x [rows, channels]; the rest [channels].
 */
Napi::Value Moments(const Napi::CallbackInfo &info) {
  const int64_t channels = integer(info, 1, "channels");
  const int64_t rows = rows_of(info, channels, "x", "channels");
  const float *x = floats(info, 0, "x", rows * channels);
  float *mean = floats(info, 2, "mean", channels);
  float *variance = floats(info, 3, "variance", channels);
  const float *moving_mean = floats(info, 4, "movingMean", channels, true);
  const float *moving_variance = floats(info, 5, "movingVariance", channels, true);
  const bool moving = moving_mean != nullptr || moving_variance != nullptr;
  if (moving && (moving_mean == nullptr || moving_variance == nullptr))
    fail(info.Env(), "movingMean and movingVariance go together: give both or neither",
         "ANNEAL_DEVICE_ARGUMENT");
  const float decay = float(info[6].ToNumber().DoubleValue());
  float *new_mean = floats(info, 7, "newMovingMean", channels, !moving);
  float *new_variance = floats(info, 8, "newMovingVariance", channels, !moving);
  check_status(info.Env(), anneal_device_moments(x, rows, channels, mean, variance, moving_mean,
                                                 moving_variance, decay, new_mean, new_variance));
  return info.Env().Undefined();
}

/**
 * batchNormGrad(x, dy, channels, mean, variance, scale | null, dmean | null, dvariance | null,
 * epsilon, dx, dscale, doffset)
 */
Napi::Value BatchNormGrad(const Napi::CallbackInfo &info) {
  const int64_t channels = integer(info, 2, "channels");
  const int64_t rows = rows_of(info, channels, "x", "channels");
  const int64_t n = rows * channels;
  const float *x = floats(info, 0, "x", n);
  const float *dy = floats(info, 1, "dy", n);
  const float *mean = floats(info, 3, "mean", channels);
  const float *variance = floats(info, 4, "variance", channels);
  const float *scale = floats(info, 5, "scale", channels, true);
  const float *dmean = floats(info, 6, "dmean", channels, true);
  const float *dvariance = floats(info, 7, "dvariance", channels, true);
  const double epsilon = info[8].ToNumber().DoubleValue();
  float *dx = floats(info, 9, "dx", n);
  float *dscale = floats(info, 10, "dscale", channels);
  float *doffset = floats(info, 11, "doffset", channels);
  check_status(info.Env(),
               anneal_device_batch_norm_grad(x, dy, rows, channels, mean, variance, scale, dmean,
                                             dvariance, epsilon, dx, dscale, doffset));
  return info.Env().Undefined();
}

/** layerNorm(x, n, scale | null, offset | null, epsilon, y, mean, variance): x [rows, n]. */
Napi::Value LayerNorm(const Napi::CallbackInfo &info) {
  const int64_t n = integer(info, 1, "n");
  const int64_t rows = rows_of(info, n, "x", "features");
  const float *x = floats(info, 0, "x", rows * n);
  const float *scale = floats(info, 2, "scale", n, true);
  const float *offset = floats(info, 3, "offset", n, true);
  const double epsilon = info[4].ToNumber().DoubleValue();
  float *y = floats(info, 5, "y", rows * n);
  float *mean = floats(info, 6, "mean", rows);
  float *variance = floats(info, 7, "variance", rows);
  check_status(info.Env(), anneal_device_layer_norm(x, rows, n, scale, offset, epsilon, y, mean,
                                                    variance));
  return info.Env().Undefined();
}

/** layerNormGrad(x, dy, n, mean, variance, scale | null, epsilon, dx, dscale, doffset) */
Napi::Value LayerNormGrad(const Napi::CallbackInfo &info) {
  const int64_t n = integer(info, 2, "n");
  const int64_t rows = rows_of(info, n, "x", "features");
  const float *x = floats(info, 0, "x", rows * n);
  const float *dy = floats(info, 1, "dy", rows * n);
  const float *mean = floats(info, 3, "mean", rows);
  const float *variance = floats(info, 4, "variance", rows);
  const float *scale = floats(info, 5, "scale", n, true);
  const double epsilon = info[6].ToNumber().DoubleValue();
  float *dx = floats(info, 7, "dx", rows * n);
  float *dscale = floats(info, 8, "dscale", n);
  float *doffset = floats(info, 9, "doffset", n);
  check_status(info.Env(), anneal_device_layer_norm_grad(x, dy, rows, n, mean, variance, scale,
                                                         epsilon, dx, dscale, doffset));
  return info.Env().Undefined();
}

/** crossEntropy(logits, labels, n, loss): logits and labels [rows, n]; loss [rows]. */
Napi::Value CrossEntropy(const Napi::CallbackInfo &info) {
  const int64_t n = integer(info, 2, "n");
  const int64_t rows = rows_of(info, n, "logits", "classes");
  const float *logits = floats(info, 0, "logits", rows * n);
  const float *labels = floats(info, 1, "labels", rows * n);
  float *loss = floats(info, 3, "loss", rows);
  check_status(info.Env(), anneal_device_cross_entropy(logits, labels, rows, n, loss));
  return info.Env().Undefined();
}

/** crossEntropyGrad(logits, labels, dy, n, dlogits): dy [rows] */
Napi::Value CrossEntropyGrad(const Napi::CallbackInfo &info) {
  const int64_t n = integer(info, 3, "n");
  const int64_t rows = rows_of(info, n, "logits", "classes");
  const float *logits = floats(info, 0, "logits", rows * n);
  const float *labels = floats(info, 1, "labels", rows * n);
  const float *dy = floats(info, 2, "dy", rows);
  float *dlogits = floats(info, 4, "dlogits", rows * n);
  check_status(info.Env(), anneal_device_cross_entropy_grad(logits, labels, dy, rows, n, dlogits));
  return info.Env().Undefined();
}

/** concat(inputs, widths, outer, out): inputs[i] holds outer * widths[i] values. */
Napi::Value Concat(const Napi::CallbackInfo &info) {
  if (!info[0].IsArray() || !info[1].IsArray())
    fail(info.Env(), "inputs and widths must be arrays", "ANNEAL_DEVICE_ARGUMENT");
  auto inputs = info[0].As<Napi::Array>();
  auto width_list = info[1].As<Napi::Array>();
  if (inputs.Length() < 1 || inputs.Length() != width_list.Length())
    fail(info.Env(), "inputs and widths must have the same length, at least 1",
         "ANNEAL_DEVICE_ARGUMENT");
  const int64_t outer = integer(info, 2, "outer");
  std::vector<const float *> data(inputs.Length());
  std::vector<int64_t> widths(inputs.Length());
  int64_t width = 0;
  for (uint32_t i = 0; i < inputs.Length(); i++) {
    widths[i] = width_list.Get(i).ToNumber().Int64Value();
    // Each input holds outer * widths[i] values.
    data[i] = static_cast<float *>(typed_value(info.Env(), inputs.Get(i),
                                               "input " + std::to_string(i), ANNEAL_FLOAT32,
                                               outer * widths[i]));
    width += widths[i];
  }
  float *out = floats(info, 3, "out", outer * width);
  check_status(info.Env(), anneal_device_concat(int(data.size()), data.data(), widths.data(),
                                                outer, out));
  return info.Env().Undefined();
}

uint32_t *words(const Napi::CallbackInfo &info, size_t i, const char *name, int64_t length) {
  return static_cast<uint32_t *>(typed(info, i, name, kWords, length));
}

uint32_t word(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (!info[i].IsNumber()) fail(info.Env(), std::string(name) + " must be a number", "ANNEAL_DEVICE_ARGUMENT");
  return info[i].As<Napi::Number>().Uint32Value();
}

int64_t product(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

/** pad(inDims, before, after, x, value, out): words, `value` the padding's word. */
Napi::Value Pad(const Napi::CallbackInfo &info) {
  const auto in_dims = dims(info, 0, "inDims");
  const auto before = dims(info, 1, "before");
  const auto after = dims(info, 2, "after");
  if (before.size() != in_dims.size() || after.size() != in_dims.size())
    fail(info.Env(), "before and after must have one entry per dim", "ANNEAL_DEVICE_ARGUMENT");
  std::vector<int64_t> out_dims(in_dims.size());
  for (size_t k = 0; k < in_dims.size(); k++) {
    if (in_dims[k] < 0 || before[k] < 0 || after[k] < 0)
      fail(info.Env(), "dims and paddings must be >= 0", "ANNEAL_DEVICE_ARGUMENT");
    out_dims[k] = before[k] + in_dims[k] + after[k];
  }
  const uint32_t *x = words(info, 3, "x", product(in_dims));
  uint32_t *out = words(info, 5, "out", product(out_dims));
  check_status(info.Env(), anneal_device_pad(int(in_dims.size()), in_dims.data(), before.data(),
                                             after.data(), x, word(info, 4, "value"), out));
  return info.Env().Undefined();
}

/**
 * gather(x, batch, outer, dim, slice, indices, out): words; false, with nothing written, where
 * an index is outside [0, dim).
 */
Napi::Value Gather(const Napi::CallbackInfo &info) {
  const int64_t batch = integer(info, 1, "batch"), outer = integer(info, 2, "outer"),
                dim = integer(info, 3, "dim"), slice = integer(info, 4, "slice");
  if (batch < 1 || outer < 0 || dim < 0 || slice < 0)
    fail(info.Env(), "batch must be >= 1, the other sizes >= 0", "ANNEAL_DEVICE_ARGUMENT");
  const int64_t n_indices = length_of(info, 5);
  if (n_indices % batch != 0)
    fail(info.Env(), "indices must hold batch rows", "ANNEAL_DEVICE_ARGUMENT");
  const int64_t count = n_indices / batch;
  const uint32_t *x = words(info, 0, "x", batch * outer * dim * slice);
  const int32_t *indices = static_cast<int32_t *>(typed(info, 5, "indices", ANNEAL_INT32, n_indices));
  uint32_t *out = words(info, 6, "out", batch * outer * count * slice);
  const int status = anneal_device_gather(x, batch, outer, dim, slice, indices, count, out);
  // The sizes are checked above: an invalid call is an index out of range.
  if (status == ANNEAL_DEVICE_INVALID) return Napi::Boolean::New(info.Env(), false);
  check_status(info.Env(), status);
  return Napi::Boolean::New(info.Env(), true);
}

/** oneHot(indices, depth, on, off, out): out words, on and off their words */
Napi::Value OneHot(const Napi::CallbackInfo &info) {
  const int64_t n = length_of(info, 0);
  const int32_t *indices = static_cast<int32_t *>(typed(info, 0, "indices", ANNEAL_INT32, n));
  const int64_t depth = integer(info, 1, "depth");
  if (depth < 0) fail(info.Env(), "depth must be >= 0", "ANNEAL_DEVICE_ARGUMENT");
  uint32_t *out = words(info, 4, "out", n * depth);
  check_status(info.Env(), anneal_device_one_hot(indices, n, depth, word(info, 2, "on"),
                                                 word(info, 3, "off"), out));
  return info.Env().Undefined();
}

/** select(condition, t, e, out): condition a Uint8Array, the others words, all one length */
Napi::Value Select(const Napi::CallbackInfo &info) {
  const int64_t n = length_of(info, 0);
  const uint8_t *condition = static_cast<uint8_t *>(typed(info, 0, "condition", ANNEAL_BOOL, n));
  const uint32_t *t = words(info, 1, "t", n);
  const uint32_t *e = words(info, 2, "e", n);
  uint32_t *out = words(info, 3, "out", n);
  check_status(info.Env(), anneal_device_select(condition, t, e, out, n));
  return info.Env().Undefined();
}

/** fill(value, out): value the word to write */
Napi::Value Fill(const Napi::CallbackInfo &info) {
  const int64_t n = length_of(info, 1);
  uint32_t *out = words(info, 1, "out", n);
  check_status(info.Env(), anneal_device_fill(word(info, 0, "value"), out, n));
  return info.Env().Undefined();
}

/** argReduce(op, x, y, outer, reduce, inner): x a Float32Array or Int32Array, y an Int32Array */
Napi::Value ArgReduce(const Napi::CallbackInfo &info) {
  const int64_t outer = integer(info, 3, "outer"), reduce = integer(info, 4, "reduce"),
                inner = integer(info, 5, "inner");
  if (outer < 0 || reduce < 1 || inner < 0)
    fail(info.Env(), "reduce must be >= 1, outer and inner >= 0", "ANNEAL_DEVICE_ARGUMENT");
  const int dtype = dtype_of(info, 1);
  const void *x = typed(info, 1, "x", kWords, outer * reduce * inner);
  int32_t *y = static_cast<int32_t *>(typed(info, 2, "y", ANNEAL_INT32, outer * inner));
  check_status(info.Env(), anneal_device_arg_reduce(int(integer(info, 0, "op")), dtype, x, y,
                                                    outer, reduce, inner));
  return info.Env().Undefined();
}

/** compare(op, outDims, a, aStrides, b, bStrides, out): a and b of one type, out a Uint8Array */
Napi::Value Compare(const Napi::CallbackInfo &info) {
  const int op = int(integer(info, 0, "op"));
  const auto out_dims = dims(info, 1, "outDims");
  const auto a_strides = dims(info, 3, "aStrides");
  const auto b_strides = dims(info, 5, "bStrides");
  if (a_strides.size() != out_dims.size() || b_strides.size() != out_dims.size())
    fail(info.Env(), "strides must have one entry per output dim", "ANNEAL_DEVICE_ARGUMENT");
  const int64_t na = extent(out_dims, a_strides), nb = extent(out_dims, b_strides);
  if (na < 0 || nb < 0) fail(info.Env(), "dims must be >= 1 and strides >= 0", "ANNEAL_DEVICE_ARGUMENT");
  const int dtype = dtype_of(info, 2);
  if (dtype < 0)
    fail(info.Env(), std::string("a must be ") + kArrayNames[0] + ", " + kArrayNames[1] + " or " +
                         kArrayNames[2], "ANNEAL_DEVICE_ARGUMENT");
  // An input may hold more values than it reads (a broadcast row), never fewer.
  const void *a = typed(info, 2, "a", dtype, na, true);
  const void *b = typed(info, 4, "b", dtype, nb, true);
  uint8_t *out = static_cast<uint8_t *>(typed(info, 6, "out", ANNEAL_BOOL, product(out_dims)));
  check_status(info.Env(), anneal_device_compare(op, dtype, int(out_dims.size()), out_dims.data(),
                                                 a, a_strides.data(), b, b_strides.data(), out));
  return info.Env().Undefined();
}

/** cast(x, y): the types from the arrays' (anneal_device_cast's pairs) */
Napi::Value Cast(const Napi::CallbackInfo &info) {
  const int from = dtype_of(info, 0), to = dtype_of(info, 1);
  if (from < 0 || to < 0)
    fail(info.Env(), std::string("x and y must each be ") + kArrayNames[0] + ", " +
                         kArrayNames[1] + " or " + kArrayNames[2], "ANNEAL_DEVICE_ARGUMENT");
  const int64_t n = length_of(info, 0);
  const void *x = typed(info, 0, "x", from, n);
  void *y = typed(info, 1, "y", to, n);
  check_status(info.Env(), anneal_device_cast(from, x, to, y, n));
  return info.Env().Undefined();
}

/** Sets every function of the binding on `exports`. */
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("moments", Napi::Function::New(env, Moments));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormGrad", Napi::Function::New(env, LayerNormGrad));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("crossEntropyGrad", Napi::Function::New(env, CrossEntropyGrad));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("pool", Napi::Function::New(env, Pool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("describe", Napi::Function::New(env, Describe));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput",
              Napi::Function::New(env, BackpropInput<anneal_device_conv2d_backprop_input, false>));
  exports.Set("conv2dBackpropFilter",
              Napi::Function::New(env, BackpropFilter<anneal_device_conv2d_backprop_filter, false>));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
  exports.Set("compare", Napi::Function::New(env, Compare));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("depthwiseConv2d", Napi::Function::New(env, DepthwiseConv2d));
  exports.Set("depthwiseConv2dBackpropInput",
              Napi::Function::New(
                  env, BackpropInput<anneal_device_depthwise_conv2d_backprop_input, true>));
  exports.Set("depthwiseConv2dBackpropFilter",
              Napi::Function::New(
                  env, BackpropFilter<anneal_device_depthwise_conv2d_backprop_filter, true>));
  return exports;
}

}  // namespace

#ifdef ANNEAL_DEVICE_VECTORS
/** The kernels addon's `device` object (addon.cc's Init sets it). */
Napi::Object anneal_binding::device_functions(Napi::Env env) {
  return Init(env, Napi::Object::New(env));
}
#else
NODE_API_MODULE(anneal_host, Init)
#endif
