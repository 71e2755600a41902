/**
 * Convolution gradients written with forward ops only, so that they run on fast kernels every
 * backend has (XNNPACK's conv2d and depthwise conv on wasm) instead of the backprop kernels
 * tfjs-backend-wasm lacks (Conv2DBackpropFilter, both depthwise backprops) or implements as a
 * naive loop (Conv2DBackpropInput).
 *
 * Shapes follow tfjs: x [N, H, W, Ci] (NHWC), conv filter [KH, KW, Ci, Co], depthwise filter
 * [KH, KW, C, M] (M = channel multiplier), dy [N, OH, OW, Co]. Padding and output sizes come
 * from tfjs's own computeConv2DInfo, so 'same' splits its padding exactly as the forward op did
 * (top = floor(total / 2)); numeric and explicit paddings work the same way. Dilation must be 1.
 */
import * as tf from '@tensorflow/tfjs-core';

type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];
export type ConvPad = 'valid' | 'same' | number | ExplicitPad;
export type RoundingMode = 'floor' | 'round' | 'ceil';

/** The forward convolution's geometry, as tfjs computes it. */
interface ConvGeometry {
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

function geometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode: RoundingMode | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    depthwise,
  );
  return {
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outH: info.outHeight,
    outW: info.outWidth,
  };
}

/**
 * Brings an NHWC tensor to the window a following convolution must see, given how many rows
 * and columns to add (positive) or drop (negative) on each side. Drops are slices; additions are
 * returned as the convolution's explicit padding, so no padded copy is made.
 */
function convWindow(
  t: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): { input: tf.Tensor4D; pad: ExplicitPad } {
  let input = t;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = t.shape;
    const [cropTop, cropLeft] = [Math.max(0, -top), Math.max(0, -left)];
    const size: [number, number, number, number] = [
      n,
      h - cropTop - Math.max(0, -bottom),
      w - cropLeft - Math.max(0, -right),
      c,
    ];
    input = tf.slice(t, [0, cropTop, cropLeft, 0], size);
  }
  const p = (v: number) => Math.max(0, v);
  return {
    input,
    pad: [
      [0, 0],
      [p(top), p(bottom)],
      [p(left), p(right)],
      [0, 0],
    ],
  };
}

/**
 * Spreads dy out to the input's stride: row r moves to r * stride with stride - 1 zero rows
 * after it (likewise columns), giving [OH * sh, OW * sw]. A stride-s convolution's input gradient
 * is the stride-1 'full' correlation of this with the flipped filter.
 */
function insertZeros(dy: tf.Tensor4D, strideH: number, strideW: number): tf.Tensor4D {
  if (strideH === 1 && strideW === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, strideH - 1],
    [0, 0],
    [0, strideW - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [n, h * strideH, w * strideW, c]);
}

/**
 * dy spread to stride 1 and windowed so that a stride-1 convolution with the spatially flipped
 * filter yields the input gradient: in 1-D, dx[i] = sum_k dz[i + padTop - k] w[k], so the spread
 * dz needs K - 1 - padTop leading and H + padTop - D trailing rows (D = its spread length).
 */
function inputGradWindow(
  dy: tf.Tensor4D,
  inH: number,
  inW: number,
  kernelH: number,
  kernelW: number,
  g: ConvGeometry,
): { input: tf.Tensor4D; pad: ExplicitPad } {
  const dz = insertZeros(dy, g.strideH, g.strideW);
  const [, dh, dw] = dz.shape;
  return convWindow(
    dz,
    kernelH - 1 - g.padTop,
    inH + g.padTop - dh,
    kernelW - 1 - g.padLeft,
    inW + g.padLeft - dw,
  );
}

/**
 * Filter gradient of conv2d as ONE conv2d: with the batch as the channel dimension, every
 * input channel ci becomes a batch item, dy becomes the filter [OH, OW, N, Co], and the forward
 * stride becomes the dilation: dW[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*s + kh - top, ...] dy[n, oh, ow, co].
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kernelH, kernelW] = filterShape;
    const [, inH, inW] = x.shape;
    const g = geometry(x.shape, filterShape, strides, pad, dimRoundingMode, false);
    // The forward pass read padded rows [0, (OH - 1) * s + KH): pad or crop x to exactly that.
    const w = convWindow(
      x,
      g.padTop,
      kernelH + (g.outH - 1) * g.strideH - inH - g.padTop,
      g.padLeft,
      kernelW + (g.outW - 1) * g.strideW - inW - g.padLeft,
    );
    const channelsAsBatch = tf.transpose(w.input, [3, 1, 2, 0]); // [Ci, H', W', N]
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
    const dw = tf.conv2d(channelsAsBatch, dyAsFilter, 1, w.pad, 'NHWC', [g.strideH, g.strideW]); // [Ci, KH, KW, Co]
    return tf.transpose(dw, [1, 2, 0, 3]);
  });
}

/**
 * Input gradient of conv2d as a forward conv2d of the spread dy with the filter flipped in
 * space and its channel axes swapped. Used where the backend's conv2d is much faster than its
 * Conv2DBackpropInput (wasm: XNNPACK against a naive loop); elsewhere tf.conv2dTranspose is used.
 */
export function conv2dInputGradViaForward(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kernelH, kernelW] = filter.shape;
    const g = geometry(xShape, filter.shape, strides, pad, dimRoundingMode, false);
    const w = inputGradWindow(dy, xShape[1], xShape[2], kernelH, kernelW, g);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [KH, KW, Co, Ci]
    return tf.conv2d(w.input, flipped as tf.Tensor4D, 1, w.pad);
  });
}

/**
 * Input gradient of a conv whose windows tile the input without overlap (stride = kernel size,
 * as a ViT's patchify stem), or null for any other conv. Each input pixel lies in at most one
 * window, so dx[n, i*KH+u, j*KW+v, c] = sum over o of dy[n, i, j, o] W[u, v, c, o]: one matrix
 * product and a depth-to-space rearrangement, instead of a conv over the zero-spread dy (which
 * does KH*KW times the work on mostly zeros). Rows and columns no window covers get 0.
 */
export function patchConvInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D | null {
  const [kernelH, kernelW, inC, outC] = filter.shape;
  const g = geometry(xShape, filter.shape, strides, pad, dimRoundingMode, false);
  if (g.strideH !== kernelH || g.strideW !== kernelW || g.padTop < 0 || g.padLeft < 0) return null;
  return tf.tidy((): tf.Tensor4D => {
    const [n, outH, outW] = dy.shape;
    const [, inH, inW] = xShape;
    const weights = tf.transpose(tf.reshape(filter, [kernelH * kernelW * inC, outC]));
    const patches = tf.matMul(tf.reshape(dy, [n * outH * outW, outC]), weights);
    // [n*outH, outW, KH, KW*C] -> swap outW and KH -> rows (i, u), columns (j, v).
    const spaced = tf.transpose(
      tf.reshape(patches, [n * outH, outW, kernelH, kernelW * inC]),
      [0, 2, 1, 3],
    );
    const covered = tf.reshape(spaced, [n, outH * kernelH, outW * kernelW, inC]) as tf.Tensor4D;
    // Row r of `covered` is input row r - padTop: keep input rows 0..inH-1, zeros past the end.
    const keptH = Math.min(outH * kernelH - g.padTop, inH);
    const keptW = Math.min(outW * kernelW - g.padLeft, inW);
    const kept = tf.slice(covered, [0, g.padTop, g.padLeft, 0], [n, keptH, keptW, inC]);
    return keptH === inH && keptW === inW
      ? kept
      : tf.pad(kept, [
          [0, 0],
          [0, inH - keptH],
          [0, inW - keptW],
          [0, 0],
        ]);
  });
}

/**
 * Filter gradient of a depthwise conv. One depthwise conv with one-hot filters (one output per
 * filter tap) gathers, for every tap, the window of x the forward pass multiplied with dy, using
 * the forward op's own padding and strides; the gradient is then
 * dW[tap, c, m] = sum over batch and positions of window[tap, c] * dy[c * M + m].
 */
export function depthwiseFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kernelH, kernelW, channels, multiplier] = filterShape;
    const taps = kernelH * kernelW;
    // oneHot[kh, kw, c, t] = 1 where t = kh * KW + kw: output channel c * T + t is tap t of channel c.
    const oneHot = tf.tile(tf.reshape(tf.eye(taps), [kernelH, kernelW, 1, taps]), [
      1,
      1,
      channels,
      1,
    ]);
    const windows = tf.depthwiseConv2d(
      x,
      oneHot as tf.Tensor4D,
      strides,
      pad,
      'NHWC',
      1,
      dimRoundingMode,
    );
    const positions = windows.size / (channels * taps);
    const products = tf.mul(
      tf.reshape(windows, [positions, channels, 1, taps]),
      tf.reshape(dy, [positions, channels, multiplier, 1]),
    );
    const perTap = tf.sum(products, 0); // [C, M, T]
    return tf.reshape(tf.transpose(perTap, [2, 0, 1]), filterShape);
  });
}

/**
 * Input gradient of a depthwise conv as a depthwise conv of the spread dy (C * M channels,
 * multiplier 1) with the spatially flipped filter, then summed over the multiplier.
 */
export function depthwiseInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kernelH, kernelW, channels, multiplier] = filter.shape;
    const [n, inH, inW] = xShape;
    const g = geometry(xShape, filter.shape, strides, pad, dimRoundingMode, true);
    const w = inputGradWindow(dy, inH, inW, kernelH, kernelW, g);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [
      kernelH,
      kernelW,
      channels * multiplier,
      1,
    ]);
    const perOutputChannel = tf.depthwiseConv2d(w.input, flipped as tf.Tensor4D, 1, w.pad);
    if (multiplier === 1) return perOutputChannel;
    return tf.sum(tf.reshape(perOutputChannel, [n, inH, inW, channels, multiplier]), 4);
  });
}
