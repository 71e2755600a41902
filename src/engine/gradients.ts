/**
 * Fast gradients for convolutions and matrix products on the wasm and cpu backends.
 *
 * Why kernels and not tf.registerGradient: tfjs-layers runs a Conv2D or Dense layer without a
 * fusable activation (linear, or followed by BatchNorm) through tf.fused.conv2d / tf.fused.matMul,
 * whose gradient is a customGrad closure inside the op. That closure never consults the gradient
 * registry: it calls the Conv2DBackpropFilter and Conv2DBackpropInput kernels, and BatchMatMul with
 * transposeA/transposeB, directly. Measured dispatch of one training step of a small model:
 * conv+relu -> Conv2D (registry gradient); conv linear -> FusedConv2D (customGrad); dense+relu ->
 * BatchMatMul (registry); dense linear -> _FusedMatMul (customGrad). Every one of these gradients
 * ends in the kernels below, so replacing the kernels (per backend) covers the stock registry
 * gradients and the fused ops' closures alike, and nothing else needs registering.
 *
 * What is replaced, from measurements on a 2-core VM (bench/engine.ts has the full-step figures):
 * - wasm Conv2DBackpropFilter: missing ("Kernel 'Conv2DBackpropFilter' not registered");
 *   filled in with one conv2d over transposed input and dy (conv-math.ts), about the cost of the
 *   forward conv.
 * - wasm Conv2DBackpropInput: a naive loop (4-7x slower than XNNPACK's forward conv at the
 *   same FLOPs); replaced by a forward conv of the spread dy with the flipped filter.
 * - wasm DepthwiseConv2dNativeBackpropFilter / ...BackpropInput: missing; filled in with a
 *   one-hot depthwise conv plus a reduction (filter) and a depthwise conv with the flipped
 *   filter (input).
 * - wasm BatchMatMul with transposeA or transposeB: ~10x slower than an explicit transpose
 *   followed by a plain matmul; the flags are turned into explicit transposes.
 * - wasm Conv2DBackpropInput of a stride = kernel conv (a ViT's patchify stem): one matmul and a
 *   depth-to-space rearrangement instead of the conv over the zero-spread dy.
 * - wasm Tile: an index-by-index loop; a broadcasting add instead (~15x faster).
 * - the Tile gradient (for every backend; a gradient, not a kernel): tfjs adds one slice of dy
 *   per tiled copy, which made LayerNormalization's backward pass thousands of kernels.
 * - the MirrorPad gradient (every backend; a gradient, and a correction): tfjs slices the
 *   middle out of dy and drops what the mirrored border received, so a reflect-padded input's
 *   edge rows got part of their gradient (BlurPool's pad); ours adds it back, as PyTorch's
 *   ReflectionPad2d backward does.
 * - the Relu gradient (every backend; a gradient): on anneal-cpu one fused kernel instead of
 *   tfjs's Cast, Step and Multiply; elsewhere tfjs's formula.
 * - cpu Conv2DBackpropFilter: ~75x slower than the conv2d formulation on the cpu's own conv2d.
 *   (cpu's Conv2DBackpropInput, depthwise backprops and transposed matmuls measured about as
 *   fast as the rewrites, or faster, so they stay.)
 *
 * A replaced kernel keeps the original's setupFunc/disposeFunc, so patching before or after the
 * backend initialises is safe, and switching off restores the original config exactly. Kernels
 * written with ops run with tfjs's tape off (the engine stops recording inside a kernel), as the
 * tfjs-node kernels do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_BACKENDS, RELU_GRAD, mirrorPadIndex } from '../backend/index.js';
import { useFusedBatchNorm } from './batch-norm.js';
import { useFusedLayerNorm } from './layer-norm.js';
import {
  conv2dFilterGrad,
  conv2dInputGradViaForward,
  depthwiseFilterGrad,
  depthwiseInputGrad,
  patchConvInputGrad,
  type ConvPad,
  type RoundingMode,
} from './conv-math.js';

type KernelParams = Parameters<tf.KernelFunc>[0];

interface KernelPatch {
  backend: 'wasm' | 'cpu';
  kernelName: string;
  /** Our kernel; `original` is the backend's own kernel, where it has one (to delegate to). */
  make(original: tf.KernelConfig | undefined): tf.KernelFunc;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: RoundingMode;
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function isUnitDilation(d: number | [number, number] | undefined): boolean {
  return d == null || (typeof d === 'number' ? d === 1 : d[0] === 1 && d[1] === 1);
}

type ConvRewrite = (a: tf.Tensor4D, b: tf.Tensor4D, attrs: ConvAttrs) => tf.Tensor4D;

/**
 * A conv backprop kernel computed by a rewrite: inputs arrive as Tensors (ops call runKernel
 * with Tensors), and a Tensor returned from a kernel is taken as is by the engine. Cases the
 * rewrite does not cover (NCHW, dilation > 1, raw TensorInfo inputs) go to the backend's own
 * kernel, or fail clearly where it has none.
 */
function convPatch(
  backend: KernelPatch['backend'],
  kernelName: string,
  inputNames: [string, string],
  rewrite: ConvRewrite,
): KernelPatch {
  const make = (original: tf.KernelConfig | undefined) => (params: KernelParams) => {
    const attrs = params.attrs as unknown as ConvAttrs;
    const [a, b] = inputNames.map((name) => params.inputs[name]);
    const covered =
      a instanceof tf.Tensor &&
      b instanceof tf.Tensor &&
      attrs.dataFormat !== 'NCHW' &&
      isUnitDilation(attrs.dilations);
    if (covered) return rewrite(a as tf.Tensor4D, b as tf.Tensor4D, attrs);
    if (original) return original.kernelFunc(params);
    throw new Error(
      `anneal: ${kernelName} on ${backend} supports NHWC, dilation 1 only ` +
        `(got dataFormat ${attrs.dataFormat}, dilations ${JSON.stringify(attrs.dilations)})`,
    );
  };
  return { backend, kernelName, make };
}

/** Swaps the last two axes (a matrix transpose of every matrix in a batch). */
function transposeLast2(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(t, perm);
}

/** BatchMatMul that turns transposeA/transposeB into explicit transposes. */
const explicitTransposeMatMul: KernelPatch = {
  backend: 'wasm',
  kernelName: 'BatchMatMul',
  make: (original) => (params: KernelParams) => {
    const { transposeA, transposeB } = params.attrs as unknown as tf.BatchMatMulAttrs;
    const { a, b } = params.inputs;
    if (!original) throw new Error('anneal: the wasm backend has no BatchMatMul kernel to wrap');
    if ((!transposeA && !transposeB) || !(a instanceof tf.Tensor) || !(b instanceof tf.Tensor)) {
      return original.kernelFunc(params);
    }
    // Re-enters this kernel with both flags off, which then runs the original.
    return tf.tidy(() =>
      tf.matMul(transposeA ? transposeLast2(a) : a, transposeB ? transposeLast2(b) : b),
    );
  },
};

/**
 * wasm Tile as a broadcasting add: x reshaped to [1, s0, 1, s1, ...] plus zeros [r0, 1, r1, 1, ...]
 * is [r0, s0, r1, s1, ...], which is the tiled tensor once reshaped. tfjs-backend-wasm's Tile
 * walks the output index by index (3.3 ms for [1, 1, 64] to [64, 16, 64]; the add takes 0.2 ms),
 * and tfjs-layers' LayerNormalization tiles four tensors per call.
 */
const broadcastTile: KernelPatch = {
  backend: 'wasm',
  kernelName: 'Tile',
  make: (original) => (params: KernelParams) => {
    const { x } = params.inputs;
    const { reps } = params.attrs as unknown as { reps: number[] };
    if (!original) throw new Error('anneal: the wasm backend has no Tile kernel to wrap');
    if (!(x instanceof tf.Tensor) || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return original.kernelFunc(params);
    }
    // Runs of untiled axes merge into one; wasm broadcasts up to rank 6, so beyond that the
    // original kernel runs.
    const groups: { rep: number; size: number }[] = [];
    reps.forEach((rep, axis) => {
      const last = groups[groups.length - 1];
      if (rep === 1 && last?.rep === 1) last.size *= x.shape[axis];
      else groups.push({ rep, size: x.shape[axis] });
    });
    const split = groups.flatMap((g) => (g.rep === 1 ? [g.size] : [1, g.size]));
    if (split.length > 6) return original.kernelFunc(params);
    return tf.tidy(() => {
      const zeros = groups.flatMap((g) => (g.rep === 1 ? [1] : [g.rep, 1]));
      const tiled = tf.add(tf.reshape(x, split), tf.zeros(zeros, x.dtype));
      return tf.reshape(
        tiled,
        x.shape.map((d: number, axis: number) => d * reps[axis]),
      );
    });
  },
};

const filterGrad: ConvRewrite = (x, dy, at) =>
  conv2dFilterGrad(x, dy, at.filterShape!, at.strides, at.pad, at.dimRoundingMode);

const PATCHES: readonly KernelPatch[] = [
  convPatch('wasm', 'Conv2DBackpropFilter', ['x', 'dy'], filterGrad),
  convPatch('cpu', 'Conv2DBackpropFilter', ['x', 'dy'], filterGrad),
  convPatch(
    'wasm',
    'Conv2DBackpropInput',
    ['dy', 'filter'],
    (dy, filter, at) =>
      patchConvInputGrad(at.inputShape!, dy, filter, at.strides, at.pad, at.dimRoundingMode) ??
      conv2dInputGradViaForward(at.inputShape!, dy, filter, at.strides, at.pad, at.dimRoundingMode),
  ),
  convPatch('wasm', 'DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], (x, dy, at) =>
    depthwiseFilterGrad(x, dy, at.filterShape!, at.strides, at.pad, at.dimRoundingMode),
  ),
  convPatch('wasm', 'DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], (dy, filter, at) =>
    depthwiseInputGrad(at.inputShape!, dy, filter, at.strides, at.pad, at.dimRoundingMode),
  ),
  explicitTransposeMatMul,
  broadcastTile,
];

/**
 * tfjs's Tile gradient adds up one slice of dy per repetition, in a JS loop: a LayerNormalization
 * of [64, 16, 64] (tfjs-layers tiles its gamma and beta to the input's shape) costs 1,088 slice +
 * add kernels per LayerNorm per step, about 70% of a small ViT's training step on wasm. The
 * gradient of tiling is a sum over the repetitions: dy reshaped to [r0, s0, r1, s1, ...] summed
 * over the r axes, two kernels for any rank. It is a gradient, not a kernel, so it is registered
 * once for every backend.
 */
const tileGradient: tf.GradConfig = {
  kernelName: tf.Tile,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { reps } = attrs as unknown as { reps: number[] };
    return {
      x: () => {
        const split = reps.flatMap((r, axis) => [r, x.shape[axis]]);
        const repAxes = reps.map((_, axis) => 2 * axis);
        return tf.sum(tf.reshape(dy as tf.Tensor, split), repAxes);
      },
    };
  },
};

/**
 * The MirrorPad gradient: dy folded back along each padded axis, every padded position's slice
 * added to the position it mirrors (mirrorPadIndex). tfjs's returns the middle slice only.
 */
const mirrorPadGradient: tf.GradConfig = {
  kernelName: tf.MirrorPad,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { paddings, mode } = attrs as unknown as tf.MirrorPadAttrs;
    return {
      x: () =>
        tf.tidy(() => {
          let g = dy as tf.Tensor;
          for (const [k, [before, after]] of paddings.entries()) {
            if (before === 0 && after === 0) continue;
            const n = x.shape[k];
            const index = mirrorPadIndex(n, before, after, mode);
            const slab = (at: number, length: number) =>
              tf.slice(
                g,
                g.shape.map((_, a) => (a === k ? at : 0)),
                g.shape.map((d, a) => (a === k ? length : d)),
              );
            let folded = slab(before, n);
            for (let t = 0; t < index.length; t++) {
              if (t >= before && t < before + n) continue;
              const pads = g.shape.map((): [number, number] => [0, 0]);
              pads[k] = [index[t], n - 1 - index[t]];
              folded = tf.add(folded, tf.pad(slab(t, 1), pads));
            }
            g = folded;
          }
          return g;
        }),
    };
  },
};

/**
 * The Relu gradient (every backend): dy * step(x), as tfjs's, but on anneal-cpu one fused kernel
 * (RELU_GRAD) where tfjs runs a Cast, a Step and a Multiply: two passes over each activation
 * fewer, about 1 ms of a 13 ms CNN step at batch 64. Elsewhere, tfjs's own formula.
 */
const reluGradient: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    return {
      x: () =>
        NATIVE_BACKENDS.has(tf.getBackend()) && x.dtype === 'float32' && g.dtype === 'float32'
          ? (tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor)
          : tf.mul(g, tf.step(tf.cast(x, 'float32'))),
    };
  },
};

/**
 * RELU_GRAD's own gradient, for a second derivative: d(dy * step(x)) is step(x) for dy and 0
 * for x (tfjs's Step gradient is 0).
 */
const reluGradGradient: tf.GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddy, saved) => {
    const [x] = saved;
    return {
      dy: () => tf.engine().runKernel(RELU_GRAD, { dy: ddy as tf.Tensor, x }) as tf.Tensor,
      x: () => tf.zerosLike(x),
    };
  },
};
tf.registerGradient(reluGradGradient);

/** The axes a Sum or Mean reduced (all of them when its attrs name none). */
function reducedAxes(x: tf.Tensor, attrs: tf.NamedAttrMap | undefined): number[] {
  const { axis } = (attrs ?? {}) as unknown as tf.SumAttrs;
  return tf.util.parseAxisParam(axis ?? x.shape.map((_, k) => k), x.shape);
}

/** dy, shaped as x with the reduced axes kept as 1s and broadcast to x's shape: one Tile. */
function spreadOver(x: tf.Tensor, dy: tf.Tensor, axes: number[]) {
  const kept = x.shape.slice();
  for (const a of axes) kept[a] = 1;
  return tf.broadcastTo(tf.reshape(tf.cast(dy, 'float32'), kept), x.shape);
}

/**
 * The Sum and Mean gradients (every backend): dy broadcast back over the reduced axes (divided by
 * the count, for Mean), the same values as tfjs's, which builds a tensor of ones of x's shape and
 * multiplies (and divides) by it: three passes over x's size where one Tile does.
 * A batch norm in training takes two Means of its input per step.
 */
const sumGradient: tf.GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return { x: () => spreadOver(x, dy as tf.Tensor, reducedAxes(x, attrs)) };
  },
};

const meanGradient: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = reducedAxes(x, attrs);
    const count = axes.reduce((n, a) => n * x.shape[a], 1);
    return { x: () => spreadOver(x, tf.div(dy as tf.Tensor, count), axes) };
  },
};

/**
 * The FusedBatchNorm gradient with per-channel statistics (every backend; others get tfjs's):
 * with r = rsqrt(variance + eps), s = scale * r, S = sum(dy) and P = sum(dy * (x - mean)) over
 * all axes but the channels,
 *   dx = dy * s, dmean = -s S, dvariance = -s r^2 P / 2, dscale = r P, doffset = S,
 * the same terms as tfjs's gradient, regrouped: three passes over x's size and two reductions,
 * where tfjs's takes ten passes (a Tile of r included) and four reductions.
 */
const batchNormGradient: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    if (mean.rank !== 1 || stockGradients.get(tf.FusedBatchNorm) === undefined) {
      return stockGradients.get(tf.FusedBatchNorm)!.gradFunc(dy, saved, attrs);
    }
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const g = dy as tf.Tensor;
    const axes = x.shape.slice(0, -1).map((_, k) => k);
    // Computed here, not in the closures: each closure runs in a tidy of its own, and the
    // statistics serve several of them (as tfjs's gradient computes x - mean here).
    const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const s = scale ? tf.mul(scale, r) : r;
    const sumDy = tf.sum(g, axes);
    const p = tf.sum(tf.mul(g, tf.sub(x, mean)), axes);
    return {
      x: () => tf.mul(g, s),
      mean: () => tf.neg(tf.mul(s, sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(s, tf.square(r)), tf.scalar(-0.5)), p),
      scale: () => tf.mul(r, p),
      offset: () => tf.reshape(sumDy, mean.shape),
    };
  },
};

/** The gradients useFastGradients registers over tfjs's own, for every backend. */
const GRADIENT_PATCHES: readonly tf.GradConfig[] = [
  tileGradient,
  mirrorPadGradient,
  reluGradient,
  sumGradient,
  meanGradient,
  batchNormGradient,
];

/** tfjs's own gradient of each patched kernel while ours is registered (undefined: none). */
const stockGradients = new Map<string, tf.GradConfig | undefined>();

/** The backend's own kernels we replaced, keyed `${backend}/${kernelName}` (undefined: none existed). */
const originals = new Map<string, tf.KernelConfig | undefined>();

function install(patch: KernelPatch): void {
  const key = `${patch.backend}/${patch.kernelName}`;
  if (originals.has(key)) return;
  const original = tf.getKernel(patch.kernelName, patch.backend);
  if (original) tf.unregisterKernel(patch.kernelName, patch.backend);
  tf.registerKernel({
    kernelName: patch.kernelName,
    backendName: patch.backend,
    kernelFunc: patch.make(original),
    setupFunc: original?.setupFunc,
    disposeFunc: original?.disposeFunc,
  });
  originals.set(key, original);
}

function uninstall(patch: KernelPatch): void {
  const key = `${patch.backend}/${patch.kernelName}`;
  if (!originals.has(key)) return;
  const original = originals.get(key);
  tf.unregisterKernel(patch.kernelName, patch.backend);
  if (original) tf.registerKernel(original);
  originals.delete(key);
}

/** A backend's package has been imported when it has registered kernels. */
function backendLoaded(backend: string): boolean {
  return tf.getKernelsForBackend(backend).length > 0;
}

let fastGradientsOn = false;

/**
 * Switches the fast convolution/matmul gradients on (our kernels, our Tile gradient, and batch
 * norm in training and layer norm on fused kernels: batch-norm.ts, layer-norm.ts) or off
 * (tfjs's own), for every backend whose package is loaded. Call it again after importing a backend package later on
 * (initEngine does). Off restores each original kernel exactly; on wasm that means
 * Conv2DBackpropFilter and the depthwise backprops are missing again, as in stock tfjs.
 */
export function useFastGradients(enabled: boolean): void {
  fastGradientsOn = enabled;
  useFusedBatchNorm(enabled);
  useFusedLayerNorm(enabled);
  for (const patch of PATCHES) {
    if (enabled && backendLoaded(patch.backend)) install(patch);
    else if (!enabled) uninstall(patch);
  }
  for (const patch of GRADIENT_PATCHES) {
    const name = patch.kernelName;
    if (enabled && !stockGradients.has(name)) {
      stockGradients.set(name, tf.getGradient(name));
      tf.registerGradient(patch);
    } else if (!enabled && stockGradients.has(name)) {
      const stock = stockGradients.get(name);
      if (stock) tf.registerGradient(stock);
      else tf.unregisterGradient(name);
      stockGradients.delete(name);
    }
  }
}

export function fastGradientsEnabled(): boolean {
  return fastGradientsOn;
}

/** Which kernels useFastGradients(true) replaces, per backend (for reports and benchmarks). */
export const FAST_GRADIENT_KERNELS: Readonly<Record<'wasm' | 'cpu', readonly string[]>> = {
  wasm: PATCHES.filter((p) => p.backend === 'wasm').map((p) => p.kernelName),
  cpu: PATCHES.filter((p) => p.backend === 'cpu').map((p) => p.kernelName),
};
