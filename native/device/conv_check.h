/*
 * Why an anneal_conv2d is not a convolution both devices take, or null when it is: the one
 * check of the host device (native/host/device_host.cpp) and the CUDA device
 * (native/cuda/device_nn.inc).
 */
#ifndef ANNEAL_CONV_CHECK_H
#define ANNEAL_CONV_CHECK_H

#include "anneal_device.h"

namespace anneal_shapes {

inline const char *check_conv(const anneal_conv2d *s, bool depthwise) {
  if (s == nullptr) return "no shape";
  const int64_t sizes[] = {s->batch,         s->in_height,     s->in_width,
                           s->in_channels,   s->filter_height, s->filter_width,
                           s->out_channels,  s->out_height,    s->out_width,
                           s->stride_height, s->stride_width,  s->dilation_height,
                           s->dilation_width};
  for (int64_t v : sizes)
    if (v <= 0) return "every size, stride and dilation must be >= 1";
  if (s->pad_top < 0 || s->pad_left < 0 || s->pad_bottom < 0 || s->pad_right < 0)
    return "padding must be >= 0";
  if (depthwise && s->out_channels % s->in_channels != 0)
    return "a depthwise conv's out channels must be a multiple of its in channels";
  return nullptr;
}

}  // namespace anneal_shapes

#endif  // ANNEAL_CONV_CHECK_H
