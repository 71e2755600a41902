/**
 * Tiny Vision Transformer (Dosovitskiy et al. 2021) for small images.
 *
 * Stem, one of:
 *   'patchify' — a conv with kernel = stride = patch size ('valid'): the original ViT stem;
 *   'conv'     — Xiao et al. 2021 ("Early convolutions help transformers see better"):
 *                ceil(log2(patch)) stacked 3x3 stride-2 convs + BN + ReLU, channels doubling up
 *                to dim, then a 1x1 conv to dim. It gives the same token grid as patchify for
 *                28x28 / patch 7 (4x4) and 32x32 / patch 4 (8x8).
 * Then learned position embeddings, `depth` pre-LN blocks (x + MHSA(LN(x)), x + MLP(LN(x)) with
 * a GELU MLP of width mlpRatio * dim), a final LN, MEAN POOLING over the tokens (no class token:
 * simpler, and as good or better for small ViTs — Beyer et al. 2022, "Better plain ViT
 * baselines") and a dense layer of logits.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { MultiHeadSelfAttention, PositionEmbedding } from './attention.js';
import {
  checkBaseOptions,
  checkChoice,
  checkPositiveInt,
  modelOptionError,
  SeedSequence,
  type BaseModelOptions,
} from './init.js';

export const VIT_STEMS = ['patchify', 'conv'] as const;
export type VitStem = (typeof VIT_STEMS)[number];

export interface VitOptions extends BaseModelOptions {
  stem?: VitStem;
  /** Patch size (default 7 when height and width are multiples of 7, e.g. 28x28; else 4). */
  patchSize?: number;
  /** Embedding width (default 64). */
  dim?: number;
  /** Transformer blocks (default 2). */
  depth?: number;
  /** Attention heads; must divide dim (default 4). */
  heads?: number;
  /** MLP hidden width / dim (default 2). */
  mlpRatio?: number;
}

const LN_EPSILON = 1e-6;

export function vit(opts: VitOptions): tfl.LayersModel {
  checkBaseOptions('vit', opts);
  const [height, width] = opts.inputShape;
  const stem = checkChoice('vit', 'stem', opts.stem ?? 'patchify', VIT_STEMS);
  const patchSize = checkPositiveInt(
    'vit',
    'patchSize',
    opts.patchSize ?? defaultPatchSize(height, width),
  );
  const dim = checkPositiveInt('vit', 'dim', opts.dim ?? 64);
  const depth = checkPositiveInt('vit', 'depth', opts.depth ?? 2);
  const heads = checkPositiveInt('vit', 'heads', opts.heads ?? 4);
  const mlpRatio = checkPositiveInt('vit', 'mlpRatio', opts.mlpRatio ?? 2);
  if (dim % heads !== 0) throw modelOptionError('vit', 'heads', heads, `a divisor of dim = ${dim}`);
  if (patchSize > Math.min(height, width)) {
    throw modelOptionError(
      'vit',
      'patchSize',
      patchSize,
      `at most the image size ${height}x${width}`,
    );
  }
  const seeds = new SeedSequence(opts.seed);

  const input = tfl.input({ shape: opts.inputShape });
  const {
    output: grid,
    rows,
    cols,
  } = stem === 'patchify'
    ? patchifyStem(input, patchSize, dim, seeds, height, width)
    : convStem(input, patchSize, dim, seeds, height, width);
  let x = tfl.layers.reshape({ targetShape: [rows * cols, dim] }).apply(grid) as tfl.SymbolicTensor;
  x = new PositionEmbedding({ seed: seeds.next() }).apply(x) as tfl.SymbolicTensor;
  for (let i = 0; i < depth; i++) x = encoderBlock(x, dim, heads, mlpRatio, seeds);
  x = layerNorm().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling1d({}).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers
    .dense({ units: opts.numClasses, kernelInitializer: seeds.glorotUniform() })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: `vit_${stem}` });
}

export function defaultPatchSize(height: number, width: number): number {
  return height % 7 === 0 && width % 7 === 0 ? 7 : 4;
}

interface StemOutput {
  output: tfl.SymbolicTensor;
  rows: number;
  cols: number;
}

function patchifyStem(
  input: tfl.SymbolicTensor,
  patch: number,
  dim: number,
  seeds: SeedSequence,
  height: number,
  width: number,
): StemOutput {
  const output = tfl.layers
    .conv2d({
      filters: dim,
      kernelSize: patch,
      strides: patch,
      padding: 'valid',
      kernelInitializer: seeds.glorotUniform(),
    })
    .apply(input) as tfl.SymbolicTensor;
  return { output, rows: Math.floor(height / patch), cols: Math.floor(width / patch) };
}

function convStem(
  input: tfl.SymbolicTensor,
  patch: number,
  dim: number,
  seeds: SeedSequence,
  height: number,
  width: number,
): StemOutput {
  const convs = Math.ceil(Math.log2(patch));
  let x = input;
  let rows = height;
  let cols = width;
  for (let i = 0; i < convs; i++) {
    const filters = Math.max(1, Math.round(dim / 2 ** (convs - 1 - i)));
    x = tfl.layers
      .conv2d({
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: seeds.heNormal(),
      })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .batchNormalization({ momentum: 0.9, epsilon: 1e-5 })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
    rows = Math.ceil(rows / 2);
    cols = Math.ceil(cols / 2);
  }
  const output = tfl.layers
    .conv2d({ filters: dim, kernelSize: 1, kernelInitializer: seeds.glorotUniform() })
    .apply(x) as tfl.SymbolicTensor;
  return { output, rows, cols };
}

function encoderBlock(
  input: tfl.SymbolicTensor,
  dim: number,
  heads: number,
  mlpRatio: number,
  seeds: SeedSequence,
): tfl.SymbolicTensor {
  let y = layerNorm().apply(input) as tfl.SymbolicTensor;
  y = new MultiHeadSelfAttention({ numHeads: heads, seed: seeds.next() }).apply(
    y,
  ) as tfl.SymbolicTensor;
  const x = tfl.layers.add().apply([input, y]) as tfl.SymbolicTensor;

  let z = layerNorm().apply(x) as tfl.SymbolicTensor;
  z = tfl.layers
    .dense({ units: dim * mlpRatio, activation: 'gelu', kernelInitializer: seeds.glorotUniform() })
    .apply(z) as tfl.SymbolicTensor;
  z = tfl.layers
    .dense({ units: dim, kernelInitializer: seeds.glorotUniform() })
    .apply(z) as tfl.SymbolicTensor;
  return tfl.layers.add().apply([x, z]) as tfl.SymbolicTensor;
}

function layerNorm() {
  return tfl.layers.layerNormalization({ epsilon: LN_EPSILON });
}
