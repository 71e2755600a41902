/**
 * Small ResNet for 28x28 / 32x32 images, in the CIFAR style of He et al. 2016 (section 4.2):
 * a 3x3 stem conv + BN + ReLU, three stages of basic blocks with widths [w, 2w, 4w] (w = 16 by
 * default), stride-2 downsampling at the start of stages 2 and 3 with 1x1 projection shortcuts,
 * global average pooling and a dense layer of logits. depth = 6n + 2 for n blocks per stage:
 * 8 (n = 1, the default, cheap on CPU), 14, 20 (the paper's smallest), 32, ...
 *
 * blurPool: each stride-2 3x3 conv becomes a stride-1 conv followed by BlurPool2D(stride 2)
 * (Zhang 2019; Composer's BlurConv2d with blur_first = false), and each projection shortcut
 * becomes BlurPool2D(stride 2) followed by a stride-1 1x1 conv. On the shortcut the order does
 * not change the result (a bias-free 1x1 conv mixes channels, the blur acts on each channel
 * alone, so they commute) and blurring first is cheaper (fewer channels).
 *
 * zeroInitLastBnGamma: the last BN of each residual branch starts with gamma = 0, so every block
 * starts as the identity (Goyal et al. 2017; He et al., "Bag of Tricks", 2019).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { blurPool2d, type BlurPadding } from './blurpool.js';
import {
  checkBaseOptions,
  checkBoolean,
  checkChoice,
  checkPositiveInt,
  modelOptionError,
  SeedSequence,
  type BaseModelOptions,
} from './init.js';

export interface ResnetOptions extends BaseModelOptions {
  /** 6n + 2 (default 8). Ignored when blocksPerStage is given. */
  depth?: number;
  /** Basic blocks in each of the three stages (default (depth - 2) / 6). */
  blocksPerStage?: number;
  /** Width of the first stage; the others are 2x and 4x (default 16). */
  width?: number;
  /** Anti-aliased downsampling with BlurPool2D (default false). */
  blurPool?: boolean;
  /** Binomial filter size of the BlurPool layers (default 3). */
  blurFilterSize?: number;
  /** Border handling of the BlurPool layers (default 'reflect'). */
  blurPadding?: BlurPadding;
  /** Start each residual branch's last BN with gamma = 0 (default false). */
  zeroInitLastBnGamma?: boolean;
}

const STAGES = 3;
/** Keras defaults are momentum 0.99 / epsilon 1e-3; PyTorch's (0.9 / 1e-5) suit short runs. */
const BN_ARGS = { momentum: 0.9, epsilon: 1e-5 } as const;

interface ResnetContext {
  seeds: SeedSequence;
  blurPool: boolean;
  blurFilterSize: number;
  blurPadding: BlurPadding;
  zeroInitLastBnGamma: boolean;
}

export function resnet(opts: ResnetOptions): tfl.LayersModel {
  checkBaseOptions('resnet', opts);
  const blocksPerStage = resolveBlocksPerStage(opts);
  const width = checkPositiveInt('resnet', 'width', opts.width ?? 16);
  const ctx: ResnetContext = {
    seeds: new SeedSequence(opts.seed),
    blurPool: checkBoolean('resnet', 'blurPool', opts.blurPool ?? false),
    blurFilterSize: checkPositiveInt('resnet', 'blurFilterSize', opts.blurFilterSize ?? 3),
    blurPadding: checkChoice('resnet', 'blurPadding', opts.blurPadding ?? 'reflect', [
      'reflect',
      'zero',
    ]),
    zeroInitLastBnGamma: checkBoolean(
      'resnet',
      'zeroInitLastBnGamma',
      opts.zeroInitLastBnGamma ?? false,
    ),
  };

  const input = tfl.input({ shape: opts.inputShape });
  let x = conv(ctx, width, 3, 1).apply(input) as tfl.SymbolicTensor;
  x = batchNorm(false).apply(x) as tfl.SymbolicTensor;
  x = relu(x);
  let channels = width;
  for (let stage = 0; stage < STAGES; stage++) {
    const stageWidth = width * 2 ** stage;
    for (let block = 0; block < blocksPerStage; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      x = basicBlock(ctx, x, channels, stageWidth, stride);
      channels = stageWidth;
    }
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers
    .dense({ units: opts.numClasses, kernelInitializer: ctx.seeds.glorotUniform() })
    .apply(x) as tfl.SymbolicTensor;
  const depth = 6 * blocksPerStage + 2;
  return tfl.model({ inputs: input, outputs: logits, name: `resnet${depth}` });
}

function resolveBlocksPerStage(opts: ResnetOptions): number {
  if (opts.blocksPerStage !== undefined) {
    return checkPositiveInt('resnet', 'blocksPerStage', opts.blocksPerStage);
  }
  const depth = opts.depth ?? 8;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw modelOptionError('resnet', 'depth', depth, '6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56)');
  }
  return (depth - 2) / 6;
}

/** conv3x3-BN-ReLU-conv3x3-BN, plus the (projected) input, then ReLU. */
function basicBlock(
  ctx: ResnetContext,
  input: tfl.SymbolicTensor,
  inChannels: number,
  outChannels: number,
  stride: number,
): tfl.SymbolicTensor {
  let y = downsamplingConv(ctx, input, outChannels, 3, stride);
  y = relu(batchNorm(false).apply(y) as tfl.SymbolicTensor);
  y = conv(ctx, outChannels, 3, 1).apply(y) as tfl.SymbolicTensor;
  y = batchNorm(ctx.zeroInitLastBnGamma).apply(y) as tfl.SymbolicTensor;

  let shortcut = input;
  if (stride !== 1 || inChannels !== outChannels) {
    const blurFirst = ctx.blurPool && stride !== 1;
    if (blurFirst) shortcut = blur(ctx, stride).apply(shortcut) as tfl.SymbolicTensor;
    shortcut = conv(ctx, outChannels, 1, blurFirst ? 1 : stride).apply(
      shortcut,
    ) as tfl.SymbolicTensor;
    shortcut = batchNorm(false).apply(shortcut) as tfl.SymbolicTensor;
  }
  return relu(tfl.layers.add().apply([y, shortcut]) as tfl.SymbolicTensor);
}

/** A strided conv, or with blurPool a stride-1 conv followed by BlurPool2D. */
function downsamplingConv(
  ctx: ResnetContext,
  input: tfl.SymbolicTensor,
  filters: number,
  kernelSize: number,
  stride: number,
): tfl.SymbolicTensor {
  if (!ctx.blurPool || stride === 1) {
    return conv(ctx, filters, kernelSize, stride).apply(input) as tfl.SymbolicTensor;
  }
  const y = conv(ctx, filters, kernelSize, 1).apply(input) as tfl.SymbolicTensor;
  return blur(ctx, stride).apply(y) as tfl.SymbolicTensor;
}

function conv(ctx: ResnetContext, filters: number, kernelSize: number, strides: number) {
  // No bias: every conv is followed by BN, whose beta does the same job.
  return tfl.layers.conv2d({
    filters,
    kernelSize,
    strides,
    padding: 'same',
    useBias: false,
    kernelInitializer: ctx.seeds.heNormal(),
  });
}

function blur(ctx: ResnetContext, stride: number) {
  return blurPool2d({ stride, filterSize: ctx.blurFilterSize, padding: ctx.blurPadding });
}

function batchNorm(zeroGamma: boolean) {
  return tfl.layers.batchNormalization({
    ...BN_ARGS,
    gammaInitializer: zeroGamma ? 'zeros' : 'ones',
  });
}

function relu(x: tfl.SymbolicTensor): tfl.SymbolicTensor {
  return tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
}
