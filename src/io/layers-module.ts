/**
 * The registration module `anneal export` writes beside a model: plain JavaScript (an ES module,
 * no imports) that defines anneal's custom layers (src/models/attention.ts and blurpool.ts) on a
 * `tf` object the page passes in (the @tensorflow/tfjs union bundle, or tfjs-core and
 * tfjs-layers merged) and registers them, so stock tfjs loads an exported ViT or BlurPool model:
 *
 *   import * as tf from '@tensorflow/tfjs';
 *   import { registerAnnealLayers } from './anneal-layers.js';
 *   registerAnnealLayers(tf);
 *   const model = await tf.loadLayersModel('model/model.json');
 *
 * The math and weight names must match the TypeScript layers; test/io checks that the module's
 * layers give the same outputs as anneal's on a loaded ViT, and in chromium.
 */

export const LAYERS_MODULE_FILE = 'anneal-layers.js';

/** The class names the module registers. */
export const MODULE_LAYER_CLASSES = [
  'MultiHeadSelfAttention',
  'PositionEmbedding',
  'BlurPool2D',
] as const;

export const LAYERS_MODULE_SOURCE = `// anneal's custom TensorFlow.js layers, for loading models that anneal exported.
// Written by \`anneal export\`. Usage: registerAnnealLayers(tf) before tf.loadLayersModel(...),
// where tf is the @tensorflow/tfjs bundle (or tfjs-core and tfjs-layers merged into one object).
export function registerAnnealLayers(tf) {
  const single = (inputs) => (Array.isArray(inputs) ? inputs[0] : inputs);

  class MultiHeadSelfAttention extends tf.layers.Layer {
    constructor(args) {
      super(args);
      this.numHeads = args.numHeads;
      this.seed = args.seed;
    }
    build(inputShape) {
      const dim = inputShape[2];
      const zeros = tf.initializers.zeros();
      const glorot = () => tf.initializers.glorotUniform({});
      this.qkvKernel = this.addWeight('qkv/kernel', [dim, 3 * dim], 'float32', glorot());
      this.qkvBias = this.addWeight('qkv/bias', [3 * dim], 'float32', zeros);
      this.outKernel = this.addWeight('out/kernel', [dim, dim], 'float32', glorot());
      this.outBias = this.addWeight('out/bias', [dim], 'float32', zeros);
      super.build(inputShape);
    }
    computeOutputShape(inputShape) {
      return inputShape;
    }
    call(inputs) {
      return tf.tidy(() => {
        const x = single(inputs);
        const [batch, tokens, dim] = x.shape;
        const heads = this.numHeads;
        const headDim = dim / heads;
        const project = (t, kernel, bias) => tf.add(tf.matMul(t, kernel.read()), bias.read());
        const qkv = project(tf.reshape(x, [batch * tokens, dim]), this.qkvKernel, this.qkvBias);
        const [q, k, v] = tf
          .split(qkv, 3, 1)
          .map((t) => tf.transpose(tf.reshape(t, [batch, tokens, heads, headDim]), [0, 2, 1, 3]));
        const kT = tf.transpose(k, [0, 1, 3, 2]);
        const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(headDim)), kT);
        const context = tf.matMul(tf.softmax(scores), v);
        const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * tokens, dim]);
        return tf.reshape(project(merged, this.outKernel, this.outBias), [batch, tokens, dim]);
      });
    }
    getConfig() {
      const config = { ...super.getConfig(), numHeads: this.numHeads };
      if (this.seed !== undefined) config.seed = this.seed;
      return config;
    }
  }
  MultiHeadSelfAttention.className = 'MultiHeadSelfAttention';

  class PositionEmbedding extends tf.layers.Layer {
    constructor(args = {}) {
      super(args);
      this.stddev = args.stddev ?? 0.02;
      this.seed = args.seed;
    }
    build(inputShape) {
      const [, tokens, dim] = inputShape;
      const init = tf.initializers.truncatedNormal({ mean: 0, stddev: this.stddev });
      this.embedding = this.addWeight('embedding', [tokens, dim], 'float32', init);
      super.build(inputShape);
    }
    computeOutputShape(inputShape) {
      return inputShape;
    }
    call(inputs) {
      return tf.tidy(() => tf.add(single(inputs), this.embedding.read()));
    }
    getConfig() {
      const config = { ...super.getConfig(), stddev: this.stddev };
      if (this.seed !== undefined) config.seed = this.seed;
      return config;
    }
  }
  PositionEmbedding.className = 'PositionEmbedding';

  const binomialFilter2D = (size) => {
    const row = [1];
    for (let i = 1; i < size; i++) row.push((row[i - 1] * (size - i)) / i);
    const total = row.reduce((a, b) => a + b, 0) ** 2;
    const out = new Float32Array(size * size);
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) out[i * size + j] = (row[i] * row[j]) / total;
    return out;
  };

  class BlurPool2D extends tf.layers.Layer {
    constructor(args = {}) {
      super(args);
      this.stride = args.stride ?? 2;
      this.filterSize = args.filterSize ?? 3;
      this.padding = args.padding ?? 'reflect';
    }
    computeOutputShape(inputShape) {
      const [batch, h, w, c] = inputShape;
      const down = (d) => (d === null ? null : Math.ceil(d / this.stride));
      return [batch, down(h), down(w), c];
    }
    call(inputs) {
      return tf.tidy(() => {
        const x = single(inputs);
        const channels = x.shape[3];
        const size = this.filterSize;
        const before = Math.floor((size - 1) / 2);
        const after = Math.ceil((size - 1) / 2);
        const paddings = [[0, 0], [before, after], [before, after], [0, 0]];
        const padded =
          before === 0 && after === 0
            ? x
            : this.padding === 'reflect'
              ? tf.mirrorPad(x, paddings, 'reflect')
              : tf.pad(x, paddings);
        const one = binomialFilter2D(size);
        const tiled = new Float32Array(size * size * channels);
        for (let k = 0; k < size * size; k++) tiled.fill(one[k], k * channels, (k + 1) * channels);
        const filter = tf.tensor4d(tiled, [size, size, channels, 1]);
        return tf.depthwiseConv2d(padded, filter, this.stride, 'valid');
      });
    }
    getConfig() {
      return { ...super.getConfig(), stride: this.stride, filterSize: this.filterSize, padding: this.padding };
    }
  }
  BlurPool2D.className = 'BlurPool2D';

  for (const cls of [MultiHeadSelfAttention, PositionEmbedding, BlurPool2D]) {
    tf.serialization.registerClass(cls);
  }
  return { MultiHeadSelfAttention, PositionEmbedding, BlurPool2D };
}
`;
