/*
 * The N-API addon over anneal_kernels.h. The same source links against the CUDA build
 * (anneal_cuda.node, vectors in device memory) and the host build (anneal_cpu.node, vectors in
 * host memory); `backend` says which ("cuda" or "host"). Every argument is checked here, so a
 * wrong type, a length mismatch, a freed vector or a double free is a JS exception with a
 * `code`, never a crash. Vectors (device_vector.h) are float32, int32 or bool; the flat kernels
 * here take float32 ones, and `device` (backend_addon.cc in vector mode) is the tfjs backend's
 * CUDA device over vectors of all three.
 * src/kernels/cuda.ts is the typed layer users see.
 */
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "anneal_kernels.h"
#include "device_vector.h"

namespace {

using anneal_binding::AddonData;
using anneal_binding::as_vector;
using anneal_binding::DeviceVector;
using anneal_binding::kMaxLength;
using anneal_binding::throw_coded;
using anneal_binding::throw_type;

void check_status(Napi::Env env, int status, const char *op) {
  anneal_binding::check_kernel_status(env, status, op);
}

// ---- argument checks ----------------------------------------------------------------------

/** A live float32 vector: every flat kernel here works on float32 values. */
DeviceVector *vector_arg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  return as_vector(info.Env(), info[index], name);
}

/** null or undefined: not given (optional masks, AMSGrad state, momentum buffer). */
DeviceVector *optional_vector_arg(const Napi::CallbackInfo &info, size_t index,
                                  const char *name) {
  if (info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  return vector_arg(info, index, name);
}

void same_length(Napi::Env env, const DeviceVector *vector, const char *name,
                 const DeviceVector *reference, const char *reference_name) {
  if (vector && vector->length() != reference->length()) {
    throw_type(env,
               std::string(name) + ": length " + std::to_string(vector->length()) +
                   ", expected " + std::to_string(reference->length()) + " (the length of " +
                   reference_name + ")",
               "ANNEAL_KERNEL_LENGTH");
  }
}

double number_arg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (!info[index].IsNumber()) throw_type(info.Env(), std::string(name) + ": expected a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

double number_field(Napi::Env env, const Napi::Object &object, const char *key,
                    const char *name) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) {
    throw_type(env, std::string(name) + "." + key + ": expected a number");
  }
  return value.As<Napi::Number>().DoubleValue();
}

bool bool_field(Napi::Env env, const Napi::Object &object, const char *key, const char *name) {
  const Napi::Value value = object.Get(key);
  if (!value.IsBoolean()) {
    throw_type(env, std::string(name) + "." + key + ": expected a boolean");
  }
  return value.As<Napi::Boolean>().Value();
}

uint32_t u32_field(Napi::Env env, const Napi::Object &object, const char *key, const char *name) {
  const double value = number_field(env, object, key, name);
  if (!(value >= 0 && value <= kMaxLength && std::floor(value) == value)) {
    throw_type(env, std::string(name) + "." + key + ": " + std::to_string(value) +
                        " is not an integer in [0, 2^32)");
  }
  return uint32_t(value);
}

Napi::Object object_arg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (!info[index].IsObject()) throw_type(info.Env(), std::string(name) + ": expected an object");
  return info[index].As<Napi::Object>();
}

/** A typed array whose element type matches a vector of `dtype` (the transfers' host side). */
Napi::TypedArray host_array_arg(const Napi::CallbackInfo &info, size_t index, const char *name,
                                int dtype) {
  static const napi_typedarray_type kTypes[] = {napi_float32_array, napi_int32_array,
                                                napi_uint8_array};
  static const char *const kNames[] = {"a Float32Array", "an Int32Array", "a Uint8Array"};
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != kTypes[dtype]) {
    throw_type(info.Env(), std::string(name) + ": expected " + kNames[dtype] + " (the vector is " +
                               anneal_binding::dtype_name(dtype) + ")");
  }
  return value.As<Napi::TypedArray>();
}

/** The first byte of a typed array's view. */
void *host_bytes(const Napi::TypedArray &array) {
  return static_cast<uint8_t *>(array.ArrayBuffer().Data()) + array.ByteOffset();
}

anneal_random_spec random_spec_arg(const Napi::CallbackInfo &info, size_t index,
                                   const char *name) {
  Napi::Env env = info.Env();
  const Napi::Object spec = object_arg(info, index, name);
  anneal_random_spec out{};
  out.seed_lo = u32_field(env, spec, "seedLo", name);
  out.seed_hi = u32_field(env, spec, "seedHi", name);
  out.stream = u32_field(env, spec, "stream", name);
  out.distribution = int(u32_field(env, spec, "distribution", name));
  if (out.distribution > ANNEAL_DIST_UNIFORM) {
    throw_type(env, std::string(name) + ".distribution: expected 0 (gaussian), 1 (rademacher) "
                                        "or 2 (uniform)");
  }
  return out;
}

/** Segments as a Float64Array of (offset, length) pairs, each inside a vector of `length`. */
std::vector<anneal_range> ranges_arg(const Napi::CallbackInfo &info, size_t index,
                                     const char *name, size_t length) {
  Napi::Env env = info.Env();
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      value.As<Napi::Float64Array>().ElementLength() % 2 != 0) {
    throw_type(env, std::string(name) + ": expected a Float64Array of (offset, length) pairs");
  }
  const Napi::Float64Array pairs = value.As<Napi::Float64Array>();
  std::vector<anneal_range> ranges(pairs.ElementLength() / 2);
  for (size_t s = 0; s < ranges.size(); ++s) {
    const double offset = pairs[2 * s], count = pairs[2 * s + 1];
    const bool integers = offset >= 0 && count >= 0 && std::floor(offset) == offset &&
                          std::floor(count) == count;
    if (!integers || offset + count > double(length)) {
      throw_coded(Napi::RangeError::New(env, std::string(name) + "[" + std::to_string(s) +
                                                 "]: offset " + std::to_string(offset) +
                                                 ", length " + std::to_string(count) +
                                                 " is not a range inside the vector of " +
                                                 std::to_string(length) + " elements"),
                  "ANNEAL_KERNEL_ARGUMENT");
    }
    ranges[s] = anneal_range{uint64_t(offset), uint64_t(count)};
  }
  return ranges;
}

// ---- device, vectors, transfers -------------------------------------------------------------

Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  char name[256] = {0};
  const int status = anneal_probe(name, sizeof(name));
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", double(status));
  out.Set("errorName", status ? anneal_error_name(status) : "");
  out.Set("message", status ? anneal_error_string(status) : "");
  out.Set("device", status ? "" : name);
  return out;
}

/** upload(vector, data, offset?): data the typed array of the vector's dtype. */
void Upload(const Napi::CallbackInfo &info) {
  DeviceVector *vector = as_vector(info.Env(), info[0], "vector", -1);
  const Napi::TypedArray data = host_array_arg(info, 1, "data", vector->dtype());
  const double offset = info[2].IsUndefined() ? 0.0 : number_arg(info, 2, "offset");
  if (!(offset >= 0 && std::floor(offset) == offset &&
        offset + double(data.ElementLength()) <= double(vector->length()))) {
    throw_type(info.Env(),
               "offset: " + std::to_string(offset) + " + data.length " +
                   std::to_string(data.ElementLength()) + " does not fit in the vector of " +
                   std::to_string(vector->length()) + " elements",
               "ANNEAL_KERNEL_LENGTH");
  }
  const size_t size = anneal_binding::dtype_bytes(vector->dtype());
  uint8_t *start = reinterpret_cast<uint8_t *>(vector->data()) + size_t(offset) * size;
  check_status(info.Env(),
               anneal_upload_bytes(start, host_bytes(data), data.ElementLength() * size),
               "upload");
}

/** download(vector, out): out the typed array of the vector's dtype, of its length. */
void Download(const Napi::CallbackInfo &info) {
  DeviceVector *vector = as_vector(info.Env(), info[0], "vector", -1);
  const Napi::TypedArray out = host_array_arg(info, 1, "out", vector->dtype());
  if (out.ElementLength() != vector->length()) {
    throw_type(info.Env(),
               "out: length " + std::to_string(out.ElementLength()) + ", expected " +
                   std::to_string(vector->length()) + " (the vector's length)",
               "ANNEAL_KERNEL_LENGTH");
  }
  check_status(info.Env(), anneal_download_bytes(host_bytes(out), vector->data(), vector->bytes()),
               "download");
}

void Fill(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  const float value = float(number_arg(info, 1, "value"));
  check_status(info.Env(), anneal_fill(x->data(), value, x->length()), "fill");
}

/** copy(dst, src): two vectors of one dtype and length. */
void Copy(const Napi::CallbackInfo &info) {
  DeviceVector *dst = as_vector(info.Env(), info[0], "dst", -1);
  DeviceVector *src = as_vector(info.Env(), info[1], "src", dst->dtype());
  same_length(info.Env(), src, "src", dst, "dst");
  check_status(info.Env(), anneal_copy_bytes(dst->data(), src->data(), dst->bytes()), "copy");
}

/** An array of vectors of this addon (copyBatch's lists). */
std::vector<DeviceVector *> vector_list_arg(const Napi::CallbackInfo &info, size_t index,
                                            const char *name) {
  if (!info[index].IsArray()) throw_type(info.Env(), std::string(name) + ": expected an array");
  const Napi::Array array = info[index].As<Napi::Array>();
  std::vector<DeviceVector *> vectors(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    vectors[i] = as_vector(info.Env(), array.Get(i), item.c_str(), -1);
  }
  return vectors;
}

/**
 * Throws unless every destination's bytes are apart from every other pair's bytes (the GPU copies
 * the pairs at once, so an overlap would race). Sorted sweep: O(n log n) for n pairs.
 */
void check_apart(Napi::Env env, const std::vector<void *> &dsts,
                 const std::vector<const void *> &srcs, const std::vector<size_t> &bytes) {
  struct Range {
    uintptr_t start, end;
    size_t pair;
    bool dst;
  };
  std::vector<Range> ranges;
  for (size_t i = 0; i < dsts.size(); ++i) {
    // A pair copied onto itself writes nothing (anneal_copy_batch skips it).
    if (bytes[i] == 0 || dsts[i] == srcs[i]) continue;
    const auto d = reinterpret_cast<uintptr_t>(dsts[i]), s = reinterpret_cast<uintptr_t>(srcs[i]);
    ranges.push_back({d, d + bytes[i], i, true});
    ranges.push_back({s, s + bytes[i], i, false});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.start < b.start; });
  // Each range against those that start before it ends (sorted by start, so no overlap is missed).
  for (size_t a = 0; a < ranges.size(); ++a) {
    for (size_t b = a + 1; b < ranges.size() && ranges[b].start < ranges[a].end; ++b) {
      if (!ranges[a].dst && !ranges[b].dst) continue;  // two sources may share bytes
      const bool own = ranges[a].pair == ranges[b].pair;
      throw_type(env,
                 "copyBatch: pair " + std::to_string(ranges[a].pair) + (own ? "'s" : " and pair " +
                 std::to_string(ranges[b].pair) + "'s") + " vectors overlap; the pairs are "
                 "copied at once, so each destination must be apart from every other vector",
                 "ANNEAL_KERNEL_ARGUMENT");
    }
  }
}

/**
 * copyBatch(dsts, srcs): dsts[i] = srcs[i] for every i (same dtype and length a pair), one
 * launch on the GPU. Destinations must not overlap another pair's vectors.
 */
void CopyBatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const std::vector<DeviceVector *> dst = vector_list_arg(info, 0, "dsts");
  const std::vector<DeviceVector *> src = vector_list_arg(info, 1, "srcs");
  if (src.size() != dst.size()) {
    throw_type(env,
               "srcs: " + std::to_string(src.size()) + " vectors, expected " +
                   std::to_string(dst.size()) + " (one for each of dsts)",
               "ANNEAL_KERNEL_LENGTH");
  }
  std::vector<void *> to(dst.size());
  std::vector<const void *> from(dst.size());
  std::vector<size_t> bytes(dst.size());
  for (size_t i = 0; i < dst.size(); ++i) {
    const std::string name = "srcs[" + std::to_string(i) + "]";
    const std::string reference = "dsts[" + std::to_string(i) + "]";
    if (src[i]->dtype() != dst[i]->dtype()) {
      throw_type(env,
                 name + ": a " + anneal_binding::dtype_name(src[i]->dtype()) + " vector, expected " +
                     anneal_binding::dtype_name(dst[i]->dtype()) + " (the dtype of " + reference +
                     ")",
                 "ANNEAL_KERNEL_DTYPE");
    }
    same_length(env, src[i], name.c_str(), dst[i], reference.c_str());
    to[i] = dst[i]->data();
    from[i] = src[i]->data();
    bytes[i] = dst[i]->bytes();
  }
  check_apart(env, to, from, bytes);
  check_status(env, anneal_copy_batch(to.data(), from.data(), bytes.data(), to.size()),
               "copyBatch");
}

void Synchronize(const Napi::CallbackInfo &info) {
  check_status(info.Env(), anneal_synchronize(), "synchronize");
}

/** setThreads(n): the host build's thread count (n >= 1, 0: every core); returns the count. */
Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const double n = number_arg(info, 0, "threads");
  if (!(n >= 0 && n <= 4096 && std::floor(n) == n)) {
    throw_coded(Napi::RangeError::New(env, "threads: " + std::to_string(n) +
                                               " is not an integer in [0, 4096]"),
                "ANNEAL_KERNEL_ARGUMENT");
  }
  return Napi::Number::New(env, anneal_set_threads(int(n)));
}

void TimerStart(const Napi::CallbackInfo &info) {
  check_status(info.Env(), anneal_timer_start(), "timerStart");
}

Napi::Value TimerStop(const Napi::CallbackInfo &info) {
  float elapsed = 0.0f;
  check_status(info.Env(), anneal_timer_stop(&elapsed), "timerStop");
  return Napi::Number::New(info.Env(), elapsed);
}

// ---- element-wise ---------------------------------------------------------------------------

void Scale(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  const float alpha = float(number_arg(info, 1, "alpha"));
  check_status(info.Env(), anneal_scale(x->data(), alpha, x->length()), "scale");
}

void Axpy(const Napi::CallbackInfo &info) {
  DeviceVector *y = vector_arg(info, 0, "y");
  const float alpha = float(number_arg(info, 1, "alpha"));
  DeviceVector *x = vector_arg(info, 2, "x");
  same_length(info.Env(), x, "x", y, "y");
  check_status(info.Env(), anneal_axpy(y->data(), alpha, x->data(), y->length()), "axpy");
}

void Mul(const Napi::CallbackInfo &info) {
  DeviceVector *out = vector_arg(info, 0, "out");
  DeviceVector *a = vector_arg(info, 1, "a");
  DeviceVector *b = vector_arg(info, 2, "b");
  same_length(info.Env(), a, "a", out, "out");
  same_length(info.Env(), b, "b", out, "out");
  check_status(info.Env(), anneal_mul(out->data(), a->data(), b->data(), out->length()), "mul");
}

float *data_or_null(const DeviceVector *vector) { return vector ? vector->data() : nullptr; }

void check_gate_length(Napi::Env env, const DeviceVector *gate, const std::string &name) {
  if (gate->length() != ANNEAL_GATE_LENGTH) {
    throw_type(env,
               name + ": " + std::to_string(gate->length()) + " elements, expected " +
                   std::to_string(ANNEAL_GATE_LENGTH) + " (a step gate)",
               "ANNEAL_KERNEL_LENGTH");
  }
}

/**
 * The optional step gate of adam and sgd: info[index] undefined or null (no gate), or
 * { vector, settled, step, beta1?, beta2? } with vector a gate of ANNEAL_GATE_LENGTH floats.
 */
bool gate_arg(const Napi::CallbackInfo &info, size_t index, anneal_gate *out) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return false;
  const Napi::Object g = object_arg(info, index, "gate");
  DeviceVector *gate = as_vector(env, g.Get("vector"), "gate.vector");
  check_gate_length(env, gate, "gate.vector");
  out->vector = gate->data();
  out->settled = number_field(env, g, "settled", "gate");
  out->step = number_field(env, g, "step", "gate");
  out->beta1 = g.Has("beta1") ? number_field(env, g, "beta1", "gate") : 0.0;
  out->beta2 = g.Has("beta2") ? number_field(env, g, "beta2", "gate") : 0.0;
  return true;
}

void Adam(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *param = vector_arg(info, 0, "param");
  DeviceVector *grad = vector_arg(info, 1, "grad");
  DeviceVector *m = vector_arg(info, 2, "m");
  DeviceVector *v = vector_arg(info, 3, "v");
  DeviceVector *vmax = optional_vector_arg(info, 4, "vMax");
  DeviceVector *lr_mask = optional_vector_arg(info, 5, "lrMask");
  DeviceVector *decay_mask = optional_vector_arg(info, 6, "decayMask");
  for (auto [vector, name] : {std::pair{grad, "grad"}, {m, "m"}, {v, "v"}, {vmax, "vMax"},
                              {lr_mask, "lrMask"}, {decay_mask, "decayMask"}}) {
    same_length(env, vector, name, param, "param");
  }
  const Napi::Object h = object_arg(info, 7, "hyper");
  anneal_adam_params p{};
  p.lr = float(number_field(env, h, "lr", "hyper"));
  const double beta1 = number_field(env, h, "beta1", "hyper");
  const double beta2 = number_field(env, h, "beta2", "hyper");
  p.beta1 = float(beta1);
  p.beta2 = float(beta2);
  p.one_minus_beta1 = float(1.0 - beta1);
  p.one_minus_beta2 = float(1.0 - beta2);
  p.eps = float(number_field(env, h, "eps", "hyper"));
  p.weight_decay = float(number_field(env, h, "weightDecay", "hyper"));
  p.bias_correction1 = float(number_field(env, h, "biasCorrection1", "hyper"));
  p.sqrt_bias_correction2 = float(number_field(env, h, "sqrtBiasCorrection2", "hyper"));
  p.decoupled = bool_field(env, h, "decoupled", "hyper");
  anneal_gate gate{};
  const bool gated = gate_arg(info, 8, &gate);
  check_status(env,
               anneal_adam(param->data(), grad->data(), m->data(), v->data(), data_or_null(vmax),
                           data_or_null(lr_mask), data_or_null(decay_mask), param->length(), &p,
                           gated ? &gate : nullptr),
               "adam");
}

void Sgd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *param = vector_arg(info, 0, "param");
  DeviceVector *grad = vector_arg(info, 1, "grad");
  DeviceVector *buf = optional_vector_arg(info, 2, "momentumBuf");
  DeviceVector *lr_mask = optional_vector_arg(info, 3, "lrMask");
  DeviceVector *decay_mask = optional_vector_arg(info, 4, "decayMask");
  for (auto [vector, name] : {std::pair{grad, "grad"}, {buf, "momentumBuf"},
                              {lr_mask, "lrMask"}, {decay_mask, "decayMask"}}) {
    same_length(env, vector, name, param, "param");
  }
  const Napi::Object h = object_arg(info, 5, "hyper");
  anneal_sgd_params p{};
  p.lr = float(number_field(env, h, "lr", "hyper"));
  p.momentum = float(number_field(env, h, "momentum", "hyper"));
  p.dampening = float(number_field(env, h, "dampening", "hyper"));
  p.weight_decay = float(number_field(env, h, "weightDecay", "hyper"));
  p.nesterov = bool_field(env, h, "nesterov", "hyper");
  p.decoupled = bool_field(env, h, "decoupled", "hyper");
  p.first_step = bool_field(env, h, "firstStep", "hyper");
  if (p.momentum != 0.0f && !buf) {
    throw_type(env, "momentumBuf: required when momentum is not 0");
  }
  anneal_gate gate{};
  const bool gated = gate_arg(info, 6, &gate);
  check_status(env,
               anneal_sgd(param->data(), grad->data(), data_or_null(buf), data_or_null(lr_mask),
                          data_or_null(decay_mask), param->length(), &p, gated ? &gate : nullptr),
               "sgd");
}

void LookaheadSync(const Napi::CallbackInfo &info) {
  DeviceVector *slow = vector_arg(info, 0, "slow");
  DeviceVector *fast = vector_arg(info, 1, "fast");
  same_length(info.Env(), fast, "fast", slow, "slow");
  const float alpha = float(number_arg(info, 2, "alpha"));
  check_status(info.Env(), anneal_lookahead_sync(slow->data(), fast->data(), alpha, slow->length()),
               "lookaheadSync");
}

void Langevin(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *xp = vector_arg(info, 0, "xp");
  DeviceVector *grad = vector_arg(info, 1, "grad");
  DeviceVector *x = vector_arg(info, 2, "x");
  DeviceVector *mu = vector_arg(info, 3, "mu");
  for (auto [vector, name] : {std::pair{grad, "grad"}, {x, "x"}, {mu, "mu"}}) {
    same_length(env, vector, name, xp, "xp");
  }
  const Napi::Object h = object_arg(info, 4, "hyper");
  anneal_langevin_params p{};
  p.eta = float(number_field(env, h, "eta", "hyper"));
  p.gamma = float(number_field(env, h, "gamma", "hyper"));
  p.noise_scale = float(number_field(env, h, "noiseScale", "hyper"));
  p.alpha = float(number_field(env, h, "alpha", "hyper"));
  p.rng = random_spec_arg(info, 5, "rng");
  check_status(env, anneal_langevin(xp->data(), grad->data(), x->data(), mu->data(), xp->length(), &p),
               "langevinStep");
}

// ---- averaging ------------------------------------------------------------------------------

void RunningMean(const Napi::CallbackInfo &info) {
  DeviceVector *avg = vector_arg(info, 0, "avg");
  DeviceVector *x = vector_arg(info, 1, "x");
  same_length(info.Env(), x, "x", avg, "avg");
  const float inv = float(number_arg(info, 2, "invCountPlusOne"));
  check_status(info.Env(), anneal_running_mean(avg->data(), x->data(), inv, avg->length()),
               "runningMean");
}

void Ema(const Napi::CallbackInfo &info) {
  DeviceVector *avg = vector_arg(info, 0, "avg");
  DeviceVector *x = vector_arg(info, 1, "x");
  same_length(info.Env(), x, "x", avg, "avg");
  const float decay = float(number_arg(info, 2, "decay"));
  check_status(info.Env(), anneal_ema(avg->data(), x->data(), decay, avg->length()), "ema");
}

void WeightedSum(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *out = vector_arg(info, 0, "out");
  if (!info[1].IsArray()) throw_type(env, "xs: expected an array of DeviceVectors");
  const Napi::Array xs = info[1].As<Napi::Array>();
  const Napi::Float64Array weights = info[2].IsTypedArray() &&
                                             info[2].As<Napi::TypedArray>().TypedArrayType() ==
                                                 napi_float64_array
                                         ? info[2].As<Napi::Float64Array>()
                                         : Napi::Float64Array();
  if (weights.IsEmpty() || weights.ElementLength() != xs.Length()) {
    throw_type(env, "weights: expected a Float64Array with one weight per entry of xs",
               "ANNEAL_KERNEL_LENGTH");
  }
  std::vector<const float *> pointers(xs.Length());
  std::vector<float> w(xs.Length());
  for (uint32_t k = 0; k < xs.Length(); ++k) {
    const std::string name = "xs[" + std::to_string(k) + "]";
    DeviceVector *x = as_vector(env, xs.Get(k), name);
    same_length(env, x, name.c_str(), out, "out");
    if (x == out) throw_type(env, name + ": may not be the output vector itself");
    pointers[k] = x->data();
    w[k] = float(weights[k]);
  }
  check_status(env,
               anneal_weighted_sum(out->data(), pointers.data(), w.data(), pointers.size(),
                                   out->length()),
               "weightedSum");
}

void Lerp(const Napi::CallbackInfo &info) {
  DeviceVector *out = vector_arg(info, 0, "out");
  DeviceVector *a = vector_arg(info, 1, "a");
  DeviceVector *b = vector_arg(info, 2, "b");
  same_length(info.Env(), a, "a", out, "out");
  same_length(info.Env(), b, "b", out, "out");
  const float t = float(number_arg(info, 3, "t"));
  check_status(info.Env(), anneal_lerp(out->data(), a->data(), b->data(), t, out->length()),
               "lerp");
}

void Bezier(const Napi::CallbackInfo &info) {
  DeviceVector *out = vector_arg(info, 0, "out");
  DeviceVector *a = vector_arg(info, 1, "a");
  DeviceVector *bend = vector_arg(info, 2, "bend");
  DeviceVector *b = vector_arg(info, 3, "b");
  same_length(info.Env(), a, "a", out, "out");
  same_length(info.Env(), bend, "bend", out, "out");
  same_length(info.Env(), b, "b", out, "out");
  const float t = float(number_arg(info, 4, "t"));
  check_status(info.Env(),
               anneal_bezier(out->data(), a->data(), bend->data(), b->data(), t, out->length()),
               "bezier");
}

// ---- reductions -----------------------------------------------------------------------------

Napi::Value Dot(const Napi::CallbackInfo &info) {
  DeviceVector *a = vector_arg(info, 0, "a");
  DeviceVector *b = vector_arg(info, 1, "b");
  same_length(info.Env(), b, "b", a, "a");
  double out = 0.0;
  check_status(info.Env(), anneal_dot(a->data(), b->data(), a->length(), &out), "dot");
  return Napi::Number::New(info.Env(), out);
}

Napi::Value SumSquares(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  double out = 0.0;
  check_status(info.Env(), anneal_sum_squares(x->data(), x->length(), &out), "sumSquares");
  return Napi::Number::New(info.Env(), out);
}

Napi::Value MaxAbs(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  float out = 0.0f;
  check_status(info.Env(), anneal_max_abs(x->data(), x->length(), &out), "maxAbs");
  return Napi::Number::New(info.Env(), out);
}

/** clipByGlobalNorm(g, maxNorm): scales g when its norm exceeds maxNorm; returns the norm. */
Napi::Value ClipByGlobalNorm(const Napi::CallbackInfo &info) {
  DeviceVector *g = vector_arg(info, 0, "g");
  const double max_norm = number_arg(info, 1, "maxNorm");
  double norm = 0.0;
  check_status(info.Env(), anneal_clip_by_global_norm(g->data(), g->length(), max_norm, &norm),
               "clipByGlobalNorm");
  return Napi::Number::New(info.Env(), norm);
}

/** clipByGlobalNormInto(g, maxNorm, norm): as clipByGlobalNorm; the norm goes to norm[0]. */
void ClipByGlobalNormInto(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *g = vector_arg(info, 0, "g");
  const double max_norm = number_arg(info, 1, "maxNorm");
  DeviceVector *norm = vector_arg(info, 2, "norm");
  if (norm->length() != 1) {
    throw_type(env, "norm: " + std::to_string(norm->length()) + " elements, expected 1",
               "ANNEAL_KERNEL_LENGTH");
  }
  check_status(env,
               anneal_clip_by_global_norm_into(g->data(), g->length(), max_norm, norm->data()),
               "clipByGlobalNormInto");
}

Napi::Value CountNonFinite(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  uint64_t out = 0;
  check_status(info.Env(), anneal_count_non_finite(x->data(), x->length(), &out),
               "countNonFinite");
  return Napi::Number::New(info.Env(), double(out));
}

/** gateNonFinite(gate, x, step): records on the gate whether x or gate[4] is non-finite. */
void GateNonFinite(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *gate = vector_arg(info, 0, "gate");
  DeviceVector *x = vector_arg(info, 1, "x");
  const double step = number_arg(info, 2, "step");
  check_gate_length(env, gate, "gate");
  check_status(env, anneal_gate_non_finite(gate->data(), x->data(), x->length(), step),
               "gateNonFinite");
}

Napi::Value CountZeros(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  uint64_t out = 0;
  check_status(info.Env(), anneal_count_zeros(x->data(), x->length(), &out), "countZeros");
  return Napi::Number::New(info.Env(), double(out));
}

// ---- randomness and pruning -----------------------------------------------------------------

void Random(const Napi::CallbackInfo &info) {
  DeviceVector *out = vector_arg(info, 0, "out");
  const anneal_random_spec spec = random_spec_arg(info, 1, "rng");
  check_status(info.Env(), anneal_random(out->data(), out->length(), &spec), "random");
}

void Perturb(const Napi::CallbackInfo &info) {
  DeviceVector *x = vector_arg(info, 0, "x");
  const float sigma = float(number_arg(info, 1, "sigma"));
  const anneal_random_spec spec = random_spec_arg(info, 2, "rng");
  const bool whole = info[3].IsNull() || info[3].IsUndefined();
  const std::vector<anneal_range> segments =
      whole ? std::vector<anneal_range>() : ranges_arg(info, 3, "segments", x->length());
  // An empty list perturbs nothing (every entry is outside every segment).
  if (!whole && segments.empty()) return;
  check_status(info.Env(),
               anneal_perturb(x->data(), x->length(), sigma, &spec, segments.data(),
                              segments.size()),
               "perturb");
}

Napi::Value MagnitudeMask(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DeviceVector *x = vector_arg(info, 0, "x");
  DeviceVector *mask = vector_arg(info, 1, "mask");
  same_length(env, mask, "mask", x, "x");
  const std::vector<anneal_range> segments = ranges_arg(info, 2, "segments", x->length());
  const double count = number_arg(info, 3, "count");
  if (!(count >= 0 && std::floor(count) == count && count <= kMaxLength)) {
    throw_coded(Napi::RangeError::New(env, "count: " + std::to_string(count) +
                                               " is not a non-negative integer"),
                "ANNEAL_KERNEL_ARGUMENT");
  }
  float threshold = 0.0f;
  check_status(env,
               anneal_magnitude_mask(x->data(), mask->data(), x->length(), segments.data(),
                                     segments.size(), uint64_t(count), &threshold),
               "magnitudeMask");
  return Napi::Number::New(env, threshold);
}

/**
 * externalMemory(): the bytes V8 counts as held outside its heap by this isolate (everything
 * told through napi_adjust_external_memory, these vectors included). Node 20's
 * process.memoryUsage().external does not include them, so the tests read it here.
 */
Napi::Value ExternalMemory(const Napi::CallbackInfo &info) {
  int64_t total = 0;
  napi_adjust_external_memory(info.Env(), 0, &total);
  return Napi::Number::New(info.Env(), double(total));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  // The kernels keep per-thread state (stream, scratch, staging); an environment runs on one
  // thread and its cleanup hooks run there, so this frees exactly this environment's state when
  // it exits (a worker thread ending, or the process).
  // Hooks run in reverse order of registration, so this one runs before Node-API's own teardown
  // of the environment (instance data, remaining finalizers): the vectors still alive are freed
  // first, then the thread's state; a finalizer that runs later finds its vector freed.
  env.AddCleanupHook([data]() {
    const std::vector<DeviceVector *> live(data->live.begin(), data->live.end());
    for (DeviceVector *vector : live) vector->Release();
    anneal_release_thread();
  });
  const Napi::Function vector_class = DeviceVector::Define(env);
  data->vector_class = Napi::Persistent(vector_class);

  exports.Set("backend", anneal_backend_name());
  exports.Set("DeviceVector", vector_class);
  // The tfjs backend's CUDA device over these vectors (backend_addon.cc in vector mode).
  exports.Set("device", anneal_binding::device_functions(env));
  auto add = [&](const char *name, auto fn) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("probe", Probe);
  add("externalMemory", ExternalMemory);
  add("upload", Upload);
  add("download", Download);
  add("fill", Fill);
  add("copy", Copy);
  add("copyBatch", CopyBatch);
  add("synchronize", Synchronize);
  add("setThreads", SetThreads);
  add("timerStart", TimerStart);
  add("timerStop", TimerStop);
  add("scale", Scale);
  add("axpy", Axpy);
  add("mul", Mul);
  add("adam", Adam);
  add("sgd", Sgd);
  add("lookaheadSync", LookaheadSync);
  add("langevin", Langevin);
  add("runningMean", RunningMean);
  add("ema", Ema);
  add("weightedSum", WeightedSum);
  add("lerp", Lerp);
  add("bezier", Bezier);
  add("dot", Dot);
  add("sumSquares", SumSquares);
  add("maxAbs", MaxAbs);
  add("countNonFinite", CountNonFinite);
  add("gateNonFinite", GateNonFinite);
  add("countZeros", CountZeros);
  add("clipByGlobalNorm", ClipByGlobalNorm);
  add("clipByGlobalNormInto", ClipByGlobalNormInto);
  add("random", Random);
  add("perturb", Perturb);
  add("magnitudeMask", MagnitudeMask);
  return exports;
}

}  // namespace

NODE_API_MODULE(anneal, Init)
