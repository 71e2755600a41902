/**
 * Transformer layers that tfjs-layers lacks, written with functional tfjs-core ops only and
 * registered for serialization: multi-head self-attention and learned position embeddings.
 *
 * Both take their initial-weight seed from the config, so a seeded ViT is deterministic and a
 * saved model reloads (the reloaded weights then overwrite the initial ones).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
import { deriveSeed } from '../data/random.js';
import { tfjsSeed } from './init.js';

type LayerArgs = ConstructorParameters<typeof tfl.layers.Layer>[0];
type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>;

function seedFor(seed: number | undefined, index: number): number | undefined {
  return seed === undefined ? undefined : tfjsSeed(deriveSeed(seed, index));
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

export interface MultiHeadSelfAttentionArgs {
  numHeads: number;
  seed?: number;
  name?: string;
}

/**
 * Self-attention over [batch, tokens, dim]: one fused q/k/v projection [dim, 3 dim], softmax(q k^T
 * / sqrt(dim / heads)) v per head, then an output projection [dim, dim]. Matrix products use
 * explicit transposes rather than matMul's transpose flags (much faster on tfjs-wasm).
 */
export class MultiHeadSelfAttention extends tfl.layers.Layer {
  static readonly className = 'MultiHeadSelfAttention';
  readonly numHeads: number;
  readonly seed?: number;
  private qkvKernel!: LayerVariable;
  private qkvBias!: LayerVariable;
  private outKernel!: LayerVariable;
  private outBias!: LayerVariable;

  constructor(args: MultiHeadSelfAttentionArgs) {
    super(args as LayerArgs);
    this.numHeads = args.numHeads;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const dim = (inputShape as tfl.Shape)[2];
    if (dim === null || dim % this.numHeads !== 0) {
      throw new Error(
        `MultiHeadSelfAttention: dim ${dim} is not divisible by ${this.numHeads} heads`,
      );
    }
    const zeros = tfl.initializers.zeros();
    const glorot = (i: number) => tfl.initializers.glorotUniform({ seed: seedFor(this.seed, i) });
    this.qkvKernel = this.addWeight('qkv/kernel', [dim, 3 * dim], 'float32', glorot(0));
    this.qkvBias = this.addWeight('qkv/bias', [3 * dim], 'float32', zeros);
    this.outKernel = this.addWeight('out/kernel', [dim, dim], 'float32', glorot(1));
    this.outBias = this.addWeight('out/bias', [dim], 'float32', zeros);
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShape as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor3D;
      const [batch, tokens, dim] = x.shape;
      const heads = this.numHeads;
      const headDim = dim / heads;
      const project = (t: tf.Tensor2D, kernel: LayerVariable, bias: LayerVariable) =>
        tf.add(tf.matMul(t, kernel.read() as tf.Tensor2D), bias.read());

      const qkv = project(tf.reshape(x, [batch * tokens, dim]), this.qkvKernel, this.qkvBias);
      // [batch*tokens, 3*dim] -> three [batch, heads, tokens, headDim]
      const [q, k, v] = tf
        .split(qkv, 3, 1)
        .map((t) => tf.transpose(tf.reshape(t, [batch, tokens, heads, headDim]), [0, 2, 1, 3]));
      const kT = tf.transpose(k, [0, 1, 3, 2]);
      const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(headDim)), kT);
      const context = tf.matMul(tf.softmax(scores), v); // [batch, heads, tokens, headDim]
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * tokens, dim]);
      return tf.reshape(project(merged as tf.Tensor2D, this.outKernel, this.outBias), [
        batch,
        tokens,
        dim,
      ]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), numHeads: this.numHeads };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(MultiHeadSelfAttention);

export interface PositionEmbeddingArgs {
  /** Standard deviation of the truncated-normal initial values (default 0.02, as in ViT). */
  stddev?: number;
  seed?: number;
  name?: string;
}

/** Adds a learned [tokens, dim] embedding to every sample of a [batch, tokens, dim] input. */
export class PositionEmbedding extends tfl.layers.Layer {
  static readonly className = 'PositionEmbedding';
  readonly stddev: number;
  readonly seed?: number;
  private embedding!: LayerVariable;

  constructor(args: PositionEmbeddingArgs = {}) {
    super(args as LayerArgs);
    this.stddev = args.stddev ?? 0.02;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [, tokens, dim] = inputShape as tfl.Shape;
    if (tokens === null || dim === null) {
      throw new UsageError(
        'ANNEAL_BAD_LAYER_OPTION',
        `PositionEmbedding: input shape ${JSON.stringify(inputShape)} has an unknown token count ` +
          `or width; it needs [batch, tokens, dim] with fixed tokens and dim.`,
      );
    }
    const init = tfl.initializers.truncatedNormal({
      mean: 0,
      stddev: this.stddev,
      seed: seedFor(this.seed, 0),
    });
    this.embedding = this.addWeight('embedding', [tokens, dim], 'float32', init);
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShape as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(single(inputs), this.embedding.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), stddev: this.stddev };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(PositionEmbedding);
