/**
 * Conv2D, FusedConv2D (bias and activation fused), DepthwiseConv2dNative and their backprops on
 * the host device's oneDNN convolutions, NHWC with the filters as tfjs stores them (HWIO, and
 * [kh, kw, in, multiplier] for depthwise ones); NCHW calls fall back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Conv2dShape } from '../device.js';
import { nativeActivation } from './activation.js';
import { nativeOr } from './fallback.js';

type Info = tf.backend_util.Conv2DInfo;
type Shape4 = [number, number, number, number];

/** The device's shape of a conv, or null where it does not take it (NCHW, an empty tensor). */
export function deviceShape(info: Info): Conv2dShape | null {
  if (info.dataFormat !== 'channelsLast') return null;
  const { top, left, bottom, right } = info.padInfo;
  const shape = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
  ];
  return shape.slice(0, 13).every((d) => d > 0) && shape.slice(13).every((p) => p >= 0)
    ? shape
    : null;
}

/** tfjs's Conv2DInfo of a conv of x by a filter of these shapes (dilation 1 unless given). */
function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dimRoundingMode'> & {
    dilations?: tf.Conv2DAttrs['dilations'];
    dataFormat?: tf.Conv2DAttrs['dataFormat'];
  },
  depthwise = false,
): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'),
  );
}

const allFloat = (...ts: (tf.TensorInfo | undefined)[]) =>
  ts.every((t) => t === undefined || t.dtype === 'float32');

function forward(
  args: Parameters<Parameters<typeof nativeOr>[1]>[0],
  bias: tf.TensorInfo | undefined,
  activation: string | undefined,
  alpha: number,
): tf.TensorInfo | null {
  const { x, filter } = args.inputs as unknown as Record<'x' | 'filter', tf.TensorInfo>;
  const attrs = args.attrs as unknown as tf.Conv2DAttrs;
  const act = nativeActivation(activation);
  if (act === null || !allFloat(x, filter, bias)) return null;
  const info = convInfo(x.shape, filter.shape, attrs);
  const shape = deviceShape(info);
  if (!shape) return null;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return null;
  const { backend } = args;
  const y = backend.alloc('float32', tf.util.sizeFromShape(info.outShape));
  backend.device.conv2d(
    shape,
    backend.floats(x),
    backend.floats(filter),
    bias ? backend.floats(bias) : null,
    y,
    act,
    alpha,
  );
  return backend.tensorInfo(info.outShape, 'float32', y);
}

export const conv2dConfig = nativeOr(tf.Conv2D, (args) => forward(args, undefined, 'linear', 0));

export const fusedConv2dConfig = nativeOr(tf.FusedConv2D, (args) => {
  const { bias, preluActivationWeights } = args.inputs as Partial<
    Record<'bias' | 'preluActivationWeights', tf.TensorInfo>
  >;
  const { activation, leakyreluAlpha } = args.attrs as unknown as tf.FusedConv2DAttrs;
  if (preluActivationWeights) return null;
  return forward(args, bias, activation, leakyreluAlpha ?? 0);
});

export const conv2dBackpropInputConfig = nativeOr(tf.Conv2DBackpropInput, (args) => {
  const { dy, filter } = args.inputs as unknown as Record<'dy' | 'filter', tf.TensorInfo>;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const { inputShape } = attrs;
  if (!allFloat(dy, filter)) return null;
  const info = convInfo(inputShape, filter.shape, attrs);
  const shape = deviceShape(info);
  // tfjs checks only dy's rank and depth; a dy of another size falls back.
  if (!shape || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
  const { backend } = args;
  const dx = backend.alloc('float32', tf.util.sizeFromShape(inputShape));
  backend.device.conv2dBackpropInput(shape, backend.floats(dy), backend.floats(filter), dx);
  return backend.tensorInfo(inputShape, 'float32', dx);
});

export const conv2dBackpropFilterConfig = nativeOr(tf.Conv2DBackpropFilter, (args) => {
  const { x, dy } = args.inputs as unknown as Record<'x' | 'dy', tf.TensorInfo>;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const { filterShape } = attrs;
  if (!allFloat(x, dy)) return null;
  const info = convInfo(x.shape, filterShape, attrs);
  const shape = deviceShape(info);
  if (!shape || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
  const { backend } = args;
  const dw = backend.alloc('float32', tf.util.sizeFromShape(filterShape));
  backend.device.conv2dBackpropFilter(shape, backend.floats(x), backend.floats(dy), dw);
  return backend.tensorInfo(filterShape, 'float32', dw);
});

/** Whether a dilation or stride attr is 1 in both dims. */
const isOne = (v: number | [number, number] | undefined) =>
  v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);

export const depthwiseConv2dConfig = nativeOr(tf.DepthwiseConv2dNative, (args) => {
  const { x, filter } = args.inputs as unknown as Record<'x' | 'filter', tf.TensorInfo>;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  // Strides and dilations both above 1: tfjs's kernel throws its error.
  if (!allFloat(x, filter) || !(isOne(attrs.strides) || isOne(attrs.dilations))) return null;
  const info = convInfo(x.shape, filter.shape, { ...attrs, dataFormat: 'NHWC' }, true);
  const shape = deviceShape(info);
  if (!shape) return null;
  const { backend } = args;
  const y = backend.alloc('float32', tf.util.sizeFromShape(info.outShape));
  backend.device.depthwiseConv2d(shape, backend.floats(x), backend.floats(filter), y);
  return backend.tensorInfo(info.outShape, 'float32', y);
});

// tfjs's depthwise backprop kernels leave dilation out of their loops (its gradient takes
// only dilation 1): other dilations fall back, to give what tfjs gives.

export const depthwiseConv2dBackpropInputConfig = nativeOr(
  tf.DepthwiseConv2dNativeBackpropInput,
  (args) => {
    const { dy, filter } = args.inputs as unknown as Record<'dy' | 'filter', tf.TensorInfo>;
    const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const { inputShape } = attrs;
    if (!allFloat(dy, filter) || !isOne(attrs.dilations)) return null;
    const info = convInfo(inputShape, filter.shape, { ...attrs, dataFormat: 'NHWC' }, true);
    const shape = deviceShape(info);
    if (!shape || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
    const { backend } = args;
    const dx = backend.alloc('float32', tf.util.sizeFromShape(inputShape));
    backend.device.depthwiseConv2dBackpropInput(
      shape,
      backend.floats(dy),
      backend.floats(filter),
      dx,
    );
    return backend.tensorInfo(inputShape, 'float32', dx);
  },
);

export const depthwiseConv2dBackpropFilterConfig = nativeOr(
  tf.DepthwiseConv2dNativeBackpropFilter,
  (args) => {
    const { x, dy } = args.inputs as unknown as Record<'x' | 'dy', tf.TensorInfo>;
    const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const { filterShape } = attrs;
    if (!allFloat(x, dy) || !isOne(attrs.dilations)) return null;
    const info = convInfo(x.shape, filterShape, { ...attrs, dataFormat: 'NHWC' }, true);
    const shape = deviceShape(info);
    if (!shape || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
    const { backend } = args;
    const dw = backend.alloc('float32', tf.util.sizeFromShape(filterShape));
    backend.device.depthwiseConv2dBackpropFilter(shape, backend.floats(x), backend.floats(dy), dw);
    return backend.tensorInfo(filterShape, 'float32', dw);
  },
);
