/*
 * DeviceVector, the kernels addon's buffer in its backend's memory (device memory on
 * anneal_cuda.node, host memory on anneal_cpu.node), and the checks that turn a wrong argument
 * into a JS exception with a `code`. Shared by the flat kernels' binding (addon.cc) and the tfjs
 * device's binding in vector mode (backend_addon.cc built with ANNEAL_DEVICE_VECTORS).
 */
#ifndef ANNEAL_DEVICE_VECTOR_H
#define ANNEAL_DEVICE_VECTOR_H

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "anneal_device.h"
#include "anneal_kernels.h"

namespace anneal_binding {

constexpr double kMaxLength = 4294967295.0;  // Philox counters index elements with 32 bits
constexpr int kErrMemoryAllocation = 2;        // cudaErrorMemoryAllocation, also on the CPU build

[[noreturn]] inline void throw_coded(Napi::Error error, const char *code) {
  error.Set("code", code);
  throw error;
}

[[noreturn]] inline void throw_type(Napi::Env env, const std::string &message,
                                    const char *code = "ANNEAL_KERNEL_ARGUMENT") {
  throw_coded(Napi::TypeError::New(env, message), code);
}

/** Turns a non-zero status from anneal_kernels.h into a JS error naming the op. */
inline void check_kernel_status(Napi::Env env, int status, const char *op) {
  if (status == 0) return;
  const std::string message = std::string(op) + ": " + anneal_backend_name() + " error " +
                              std::to_string(status) + " (" + anneal_error_name(status) +
                              "): " + anneal_error_string(status);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("status", double(status));
  throw_coded(std::move(error),
              status == kErrMemoryAllocation ? "ANNEAL_KERNEL_MEMORY" : "ANNEAL_KERNEL_DEVICE");
}

/** A vector's dtype names, indexed by anneal_dtype (anneal_device.h). */
inline const char *dtype_name(int dtype) {
  static const char *const names[] = {"float32", "int32", "bool"};
  return dtype >= 0 && dtype <= ANNEAL_BOOL ? names[dtype] : "unknown";
}

/** Bytes per value: bool is one byte, as tfjs's Uint8Array holds it. */
inline size_t dtype_bytes(int dtype) { return dtype == ANNEAL_BOOL ? 1 : 4; }

class DeviceVector;

/**
 * Per-environment state: the DeviceVector class, to recognise vectors of this addon, and the
 * vectors still alive, which the environment-cleanup hook frees before the kernels' per-thread
 * state (stream, scratch) goes away.
 */
struct AddonData {
  Napi::FunctionReference vector_class;
  std::unordered_set<DeviceVector *> live;
};

/**
 * A vector in the backend's memory: pointer, length, dtype ('float32', 'int32' or 'bool', one
 * byte a value, allocated in whole floats) and whether it is still alive.
 */
class DeviceVector : public Napi::ObjectWrap<DeviceVector> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DeviceVector",
                       {InstanceAccessor<&DeviceVector::Length>("length"),
                        InstanceAccessor<&DeviceVector::Dtype>("dtype"),
                        InstanceAccessor<&DeviceVector::ByteLength>("byteLength"),
                        InstanceAccessor<&DeviceVector::Alive>("alive"),
                        InstanceMethod<&DeviceVector::Free>("free"),
                        InstanceMethod<&DeviceVector::View>("view")});
  }

  explicit DeviceVector(const Napi::CallbackInfo &info) : Napi::ObjectWrap<DeviceVector>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) throw_type(env, "length: expected a number");
    const double length = info[0].As<Napi::Number>().DoubleValue();
    if (!(length >= 0 && length <= kMaxLength && std::floor(length) == length)) {
      throw_coded(Napi::RangeError::New(env, "length: " + std::to_string(length) +
                                                 " is not an integer in [0, 2^32)"),
                  "ANNEAL_KERNEL_ARGUMENT");
    }
    if (!info[1].IsUndefined()) {
      const std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
      dtype_ = -1;
      for (int d = ANNEAL_FLOAT32; d <= ANNEAL_BOOL; ++d) {
        if (name == dtype_name(d)) dtype_ = d;
      }
      if (dtype_ < 0) {
        throw_type(env, "dtype: expected 'float32', 'int32' or 'bool' (or nothing: float32)",
                   "ANNEAL_KERNEL_DTYPE");
      }
    }
    length_ = size_t(length);
    env_ = env;
    // new DeviceVector(length, dtype, parent, offset): a view, made by view() below.
    if (is_view_call(info)) {
      parent_ = Napi::ObjectWrap<DeviceVector>::Unwrap(info[2].As<Napi::Object>());
      parent_ref_ = Napi::Persistent(info[2].As<Napi::Object>());
      view_offset_ = size_t(info[3].As<Napi::Number>().Int64Value());
      return;
    }
    // new DeviceVector(length, dtype, { collectable: false, zeroed: false }): see
    // collectable_; an owner that writes every value first skips the zeroing (on the GPU, a
    // memset launch per vector: one per tensor a kernel makes).
    bool zeroed = true;
    if (info.Length() >= 3 && info[2].IsObject()) {
      const auto is_false = [](const Napi::Value &v) {
        return v.IsBoolean() && !v.As<Napi::Boolean>().Value();
      };
      const Napi::Object options = info[2].As<Napi::Object>();
      collectable_ = !is_false(options.Get("collectable"));
      zeroed = !is_false(options.Get("zeroed"));
    }
    check_kernel_status(
        env, zeroed ? anneal_alloc(&data_, floats()) : anneal_alloc_uninitialized(&data_, floats()),
        "alloc");
    addon_ = env.GetInstanceData<AddonData>();
    addon_->live.insert(this);
    adjust_external_memory(int64_t(allocated_bytes()));
  }

  /**
   * A vector dropped without free() is freed when it is garbage-collected. On the CUDA build
   * the free is queued on the owning thread's stream (cudaFreeAsync), so a finalizer never
   * waits for the device.
   */
  ~DeviceVector() override { Release(); }

  /** Frees the memory once; later calls do nothing. Returns the free's status. */
  int Release() {
    if (parent_ || !data_) return 0;
    const int status = anneal_free(data_);
    data_ = nullptr;
    addon_->live.erase(this);
    adjust_external_memory(-int64_t(allocated_bytes()));
    return status;
  }

  /** The values' bytes (length times 4, or 1 for bool). */
  size_t bytes() const { return length_ * dtype_bytes(dtype_); }
  /** Whole floats holding the values (anneal_alloc allocates at least one). */
  size_t floats() const { return (bytes() + sizeof(float) - 1) / sizeof(float); }
  size_t allocated_bytes() const { return (floats() > 0 ? floats() : 1) * sizeof(float); }

  /** The first value (a view: its parent's memory, `view_offset_` 4-byte words on). */
  float *data() const { return parent_ ? parent_->data() + view_offset_ : data_; }
  size_t length() const { return length_; }
  int dtype() const { return dtype_; }
  /** A view is alive while the vector it views is. */
  bool alive() const { return parent_ ? parent_->alive() : data_ != nullptr; }

 private:
  Napi::Value Length(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), double(length_));
  }
  Napi::Value Dtype(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), dtype_name(dtype_));
  }
  Napi::Value ByteLength(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), double(bytes()));
  }
  Napi::Value Alive(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), alive());
  }
  void Free(const Napi::CallbackInfo &info) {
    if (parent_) {
      throw_type(info.Env(), "free: this is a view; free the vector it views instead",
                 "ANNEAL_KERNEL_ARGUMENT");
    }
    if (!alive()) {
      throw_coded(Napi::Error::New(info.Env(), "free: this vector was already freed"),
                  "ANNEAL_KERNEL_FREED");
    }
    check_kernel_status(info.Env(), Release(), "free");
  }

  /**
   * view(offset, length, dtype?): `length` values from value `offset`, seen as `dtype` (float32
   * or int32, of a float32 or int32 vector: a copy kernel moves 32-bit words alike), sharing
   * this vector's memory; it keeps this vector from being collected, and is no longer alive
   * once this one is freed. The tfjs backend's slices and splits read through views.
   */
  Napi::Value View(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!alive()) throw_coded(Napi::Error::New(env, "view: the vector was freed"), "ANNEAL_KERNEL_FREED");
    if (dtype_ == ANNEAL_BOOL) throw_type(env, "view: bool vectors have no views", "ANNEAL_KERNEL_DTYPE");
    const double offset = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    const double length = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(offset >= 0 && length >= 0 && std::floor(offset) == offset &&
          std::floor(length) == length && offset + length <= double(length_))) {
      throw_coded(Napi::RangeError::New(env, "view: offset " + std::to_string(offset) +
                                                 " and length " + std::to_string(length) +
                                                 " must be whole numbers within the vector's " +
                                                 std::to_string(length_) + " values"),
                  "ANNEAL_KERNEL_LENGTH");
    }
    Napi::Value dtype = info[2].IsUndefined() ? Napi::String::New(env, dtype_name(dtype_)) : info[2];
    if (!(dtype.IsString() && (dtype.As<Napi::String>().Utf8Value() == "float32" ||
                               dtype.As<Napi::String>().Utf8Value() == "int32"))) {
      throw_type(env, "view: dtype must be 'float32' or 'int32'", "ANNEAL_KERNEL_DTYPE");
    }
    const Napi::Function make = env.GetInstanceData<AddonData>()->vector_class.Value();
    // A view of a view views the same memory, from the first vector.
    const double base = parent_ ? double(view_offset_) : 0;
    return make.New({Napi::Number::New(env, length), dtype,
                     parent_ ? parent_ref_.Value() : Value(),
                     Napi::Number::New(env, base + offset)});
  }

  /**
   * V8 sees only the small wrapper: a collectable vector tells it how much memory hangs off it,
   * so that GC runs when dropped vectors hold a lot of (device or native) memory.
   */
  void adjust_external_memory(int64_t bytes) const {
    if (!collectable_) return;
    int64_t adjusted = 0;
    napi_adjust_external_memory(env_, bytes, &adjusted);
  }

  static bool is_view_call(const Napi::CallbackInfo &info) {
    return info.Length() >= 4 && info[2].IsObject() && info[3].IsNumber() &&
           info[2].As<Napi::Object>().InstanceOf(
               info.Env().GetInstanceData<AddonData>()->vector_class.Value());
  }

  float *data_ = nullptr;
  DeviceVector *parent_ = nullptr;
  Napi::ObjectReference parent_ref_;
  size_t view_offset_ = 0;
  size_t length_ = 0;
  int dtype_ = ANNEAL_FLOAT32;
  napi_env env_ = nullptr;
  AddonData *addon_ = nullptr;
  /**
   * False for a vector whose owner frees it explicitly and keeps it reachable until then (the
   * tfjs backend's tensors: disposeData frees them, its map holds them), which a GC can never
   * reclaim: telling V8 of its memory would only make V8 collect in vain. On the GPU that made
   * each 64 MB of live activations start a full GC: about 20 a step for the ResNet at batch 512.
   */
  bool collectable_ = true;
};

/** Whether `value` is a DeviceVector of this addon (alive or not). */
inline bool is_vector(Napi::Env env, const Napi::Value &value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(
                                 env.GetInstanceData<AddonData>()->vector_class.Value());
}

/**
 * `value` as a live vector of this addon, of `dtype` unless that is -1; else a coded error whose
 * message names the argument and what was expected.
 */
inline DeviceVector *as_vector(Napi::Env env, const Napi::Value &value, const std::string &name,
                               int dtype = ANNEAL_FLOAT32) {
  if (!is_vector(env, value)) {
    throw_type(env, name + ": expected a DeviceVector of this " + anneal_backend_name() + " addon",
               "ANNEAL_KERNEL_BACKEND");
  }
  DeviceVector *vector = DeviceVector::Unwrap(value.As<Napi::Object>());
  if (!vector->alive()) {
    throw_coded(Napi::Error::New(env, name + ": the vector was freed"), "ANNEAL_KERNEL_FREED");
  }
  if (dtype >= 0 && vector->dtype() != dtype) {
    throw_type(env,
               name + ": a " + dtype_name(vector->dtype()) + " vector, expected a " +
                   dtype_name(dtype) + " one (make it with new DeviceVector(length, '" +
                   dtype_name(dtype) + "'))",
               "ANNEAL_KERNEL_DTYPE");
  }
  return vector;
}

/** The tfjs device's functions over DeviceVectors (backend_addon.cc, ANNEAL_DEVICE_VECTORS). */
Napi::Object device_functions(Napi::Env env);

}  // namespace anneal_binding

#endif  // ANNEAL_DEVICE_VECTOR_H
