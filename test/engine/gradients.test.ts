// Our gradient kernels against tfjs-cpu's own gradients (the oracle: tfjs's stock kernels,
// fast gradients off), through tf.grads so the real backprop path is exercised, on wasm (where
// our kernels replace missing or slow ones) and on cpu (where we replace Conv2DBackpropFilter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/index.js';

const TOLERANCE = 1e-4;

/** Deterministic values in [-1, 1) from a 32-bit LCG, identical on every backend. */
function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Grad {
  values: Float32Array;
  shape: number[];
}

/**
 * Gradients of sum(f(inputs) * R) for a fixed seeded R (so dy is not all ones), computed on the
 * given backend with fast gradients on or off. Also returns the kernels the computation ran.
 */
async function gradientsOn(
  backend: 'cpu' | 'wasm',
  fast: boolean,
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<{ grads: Grad[]; kernels: string[] }> {
  await initEngine({ backend, fastGradients: fast });
  const before = tf.memory().numTensors;
  let grads: Grad[] = [];
  const profile = await tf.profile(() => {
    grads = tf.tidy(() => {
      const inputs = shapes.map((shape, i) => tf.tensor(seeded(size(shape), 17 + i), shape));
      const loss = (...xs: tf.Tensor[]) => {
        const y = f(...xs);
        return tf.sum(tf.mul(y, tf.tensor(seeded(y.size, 99), y.shape)));
      };
      return tf
        .grads(loss)(inputs)
        .map((g) => ({ values: g.dataSync() as Float32Array, shape: g.shape }));
    });
  });
  assert.equal(
    tf.memory().numTensors,
    before,
    `${backend}: tensors leaked by the gradient computation`,
  );
  // Every kernel run, in order (repeats included).
  return { grads, kernels: profile.kernels.map((k) => k.name) };
}

function assertClose(actual: Grad[], expected: Grad[], label: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.deepEqual(a.shape, e.shape, `${label}: gradient ${i} shape`);
    let maxDiff = 0;
    let maxRef = 0;
    for (let j = 0; j < e.values.length; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.values[j] - e.values[j]));
      maxRef = Math.max(maxRef, Math.abs(e.values[j]));
    }
    assert.ok(maxRef > 0, `${label}: reference gradient ${i} is all zeros`);
    assert.ok(
      maxDiff / maxRef <= TOLERANCE,
      `${label}: gradient ${i} relative error ${maxDiff / maxRef}`,
    );
  });
}

/** Compares our gradients on wasm and on cpu with tfjs-cpu's stock ones. */
async function checkAgainstStock(
  label: string,
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
) {
  const stock = await gradientsOn('cpu', false, shapes, f);
  for (const backend of ['wasm', 'cpu'] as const) {
    const ours = await gradientsOn(backend, true, shapes, f);
    assertClose(ours.grads, stock.grads, `${label} on ${backend}`);
  }
  return stock;
}

type Pad = 'same' | 'valid' | number;
const CONV_CASES: { x: number[]; w: number[]; strides: number | [number, number]; pad: Pad }[] = [
  { x: [1, 5, 5, 2], w: [3, 3, 2, 3], strides: 1, pad: 'same' },
  { x: [3, 7, 6, 2], w: [3, 3, 2, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], w: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 2], w: [3, 2, 2, 3], strides: 2, pad: 'valid' },
  { x: [2, 8, 8, 3], w: [4, 4, 3, 5], strides: 4, pad: 'valid' }, // ViT patchify stem
  // Stride = kernel (the patch path): rows no window covers, 'same' offsets, a numeric pad.
  { x: [1, 10, 7, 3], w: [4, 2, 3, 2], strides: [4, 2], pad: 'valid' },
  { x: [2, 9, 10, 2], w: [3, 3, 2, 4], strides: 3, pad: 'same' },
  { x: [1, 6, 6, 2], w: [2, 2, 2, 3], strides: 2, pad: 1 },
  { x: [1, 9, 11, 2], w: [5, 5, 2, 2], strides: [2, 3], pad: 'same' },
  { x: [2, 7, 9, 3], w: [1, 1, 3, 2], strides: 2, pad: 'valid' }, // 1x1 projection shortcut
  { x: [2, 6, 6, 2], w: [3, 3, 2, 2], strides: 1, pad: 1 },
];

for (const c of CONV_CASES) {
  const label = `conv2d x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${JSON.stringify(c.strides)} ${c.pad}`;
  test(`${label}: dx, dW match tfjs-cpu's stock gradient`, async () => {
    await checkAgainstStock(label, [c.x, c.w], (x, w) =>
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad),
    );
  });
}

test('fused conv2d (linear + bias, as tfjs-layers runs a conv without activation) goes through our kernels', async () => {
  const shapes = [[2, 7, 7, 3], [3, 3, 3, 4], [4]];
  const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: w as tf.Tensor4D,
      strides: 2,
      pad: 'same',
      bias: b,
    });
  await checkAgainstStock('fused conv2d', shapes, f as (...xs: tf.Tensor[]) => tf.Tensor);
  const { kernels } = await gradientsOn(
    'wasm',
    true,
    shapes,
    f as (...xs: tf.Tensor[]) => tf.Tensor,
  );
  assert.ok(kernels.includes('FusedConv2D'), `expected the fused kernel, ran ${kernels.join(',')}`);
  assert.ok(kernels.includes('Conv2DBackpropFilter'));
  // Only our input gradient flips the filter (the stock wasm kernel is one naive loop).
  assert.ok(kernels.includes('Conv2DBackpropInput') && kernels.includes('Reverse'));
});

const DEPTHWISE_CASES: { x: number[]; w: number[]; strides: number; pad: Pad }[] = [
  { x: [1, 6, 6, 3], w: [3, 3, 3, 1], strides: 1, pad: 'same' }, // BlurPool-like
  { x: [2, 7, 7, 2], w: [3, 3, 2, 1], strides: 2, pad: 'same' },
  { x: [2, 8, 7, 3], w: [3, 3, 3, 2], strides: 1, pad: 'valid' },
  { x: [3, 9, 9, 2], w: [5, 5, 2, 2], strides: 2, pad: 'valid' },
];

for (const c of DEPTHWISE_CASES) {
  const label = `depthwise x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${c.strides} ${c.pad}`;
  test(`${label}: dx, dW match tfjs-cpu's stock gradient`, async () => {
    await checkAgainstStock(label, [c.x, c.w], (x, w) =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad),
    );
  });
}

const MATMUL_SHAPES: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [];
for (const transposeA of [false, true]) {
  for (const transposeB of [false, true]) {
    const [m, k, n] = [5, 4, 3];
    MATMUL_SHAPES.push({
      a: transposeA ? [k, m] : [m, k],
      b: transposeB ? [n, k] : [k, n],
      transposeA,
      transposeB,
    });
    MATMUL_SHAPES.push({
      a: transposeA ? [2, k, m] : [2, m, k],
      b: transposeB ? [2, n, k] : [2, k, n],
      transposeA,
      transposeB,
    });
  }
}

for (const c of MATMUL_SHAPES) {
  const label = `matMul a${JSON.stringify(c.a)} b${JSON.stringify(c.b)} tA=${c.transposeA} tB=${c.transposeB}`;
  test(`${label}: da, db match tfjs-cpu's stock gradient`, async () => {
    await checkAgainstStock(label, [c.a, c.b], (a, b) =>
      tf.matMul(a, b, c.transposeA, c.transposeB),
    );
  });
}

test('fused matMul (a Dense layer without activation) gradients match stock, with explicit transposes on wasm', async () => {
  const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.fused.matMul({ a, b, bias });
  const shapes = [[6, 4], [4, 3], [3]];
  await checkAgainstStock('fused matMul', shapes, f as (...xs: tf.Tensor[]) => tf.Tensor);
  const kernelsRun = async (fast: boolean) =>
    (await gradientsOn('wasm', fast, shapes, f as (...xs: tf.Tensor[]) => tf.Tensor)).kernels;
  assert.ok(
    !(await kernelsRun(false)).includes('Transpose'),
    'stock passes transpose flags to BatchMatMul',
  );
  assert.ok((await kernelsRun(true)).includes('Transpose'), 'ours transposes explicitly');
});

/** A small conv net touching every path: Conv2D+relu, fused linear conv, depthwise, Dense relu/linear. */
function smallConvNet(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 8, activation: 'relu' }),
      tfl.layers.dense({ units: 3 }),
    ],
  });
}

/** Two SGD steps from seeded weights; returns the two losses. */
function trainTwoSteps(): number[] {
  const model = smallConvNet();
  model.setWeights(
    model.getWeights().map((w, i) =>
      tf.tensor(
        seeded(w.size, 1000 + i).map((v) => v * 0.5),
        w.shape,
      ),
    ),
  );
  const x = tf.tensor(seeded(4 * 8 * 8 * 2, 5), [4, 8, 8, 2]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
  const optimizer = tf.train.sgd(0.1);
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    const loss = optimizer.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(
          y,
          model.apply(x, { training: true }) as tf.Tensor,
        ) as tf.Scalar,
      true,
    );
    losses.push(loss!.dataSync()[0]);
    loss!.dispose();
  }
  tf.dispose([x, y, ...model.weights.map((w) => w.read())]);
  optimizer.dispose();
  return losses;
}

test('a small conv net trains 2 steps on wasm, with the same losses as tfjs-cpu stock', async () => {
  await initEngine({ backend: 'wasm', fastGradients: false });
  assert.throws(
    () => trainTwoSteps(),
    /Kernel '(Conv2DBackpropFilter|DepthwiseConv2dNativeBackprop\w+)' not registered for backend 'wasm'/,
    'stock wasm should lack the backprop kernels',
  );

  await initEngine({ backend: 'cpu', fastGradients: false });
  const stock = trainTwoSteps();
  const engine = await initEngine({ backend: 'wasm' });
  assert.equal(engine.fastGradients, true);
  const ours = trainTwoSteps();
  assert.ok(ours.every(Number.isFinite), `losses ${ours}`);
  ours.forEach((loss, i) =>
    assert.ok(
      Math.abs(loss - stock[i]) <= TOLERANCE * Math.abs(stock[i]),
      `step ${i}: ${loss} vs ${stock[i]}`,
    ),
  );
  assert.notEqual(ours[0], ours[1], 'the step changed nothing');
});

/** tile(x, reps) by its definition: out[i] = x[i mod shape], for any rank. */
function tileByHand(x: Float32Array | Int32Array, shape: number[], reps: number[]): number[] {
  const outShape = shape.map((d, i) => d * reps[i]);
  const out: number[] = [];
  const index = outShape.map(() => 0);
  for (let flat = 0; flat < size(outShape); flat++) {
    let source = 0;
    for (let axis = 0; axis < shape.length; axis++) {
      source = source * shape[axis] + (index[axis] % shape[axis]);
    }
    out.push(x[source]);
    for (let axis = shape.length - 1; axis >= 0 && ++index[axis] === outShape[axis]; axis--) {
      index[axis] = 0;
    }
  }
  return out;
}

const TILE_CASES: { shape: number[]; reps: number[] }[] = [
  { shape: [3], reps: [4] },
  { shape: [2, 3], reps: [1, 2] },
  { shape: [1, 1, 5], reps: [4, 3, 1] }, // LayerNorm's gamma
  { shape: [4, 3, 1], reps: [1, 1, 5] }, // LayerNorm's mean
  { shape: [2, 1, 3, 2], reps: [2, 3, 1, 2] }, // rank 7 when split: the original kernel
  { shape: [2, 3, 2, 2], reps: [1, 1, 3, 1] }, // untiled runs merge
];

for (const c of TILE_CASES) {
  const label = `tile ${JSON.stringify(c.shape)} x ${JSON.stringify(c.reps)}`;
  test(`${label}: values by definition on wasm, float32 and int32; dx matches stock`, async () => {
    await initEngine({ backend: 'wasm', fastGradients: true });
    const values = seeded(size(c.shape), 5);
    for (const dtype of ['float32', 'int32'] as const) {
      const data = dtype === 'int32' ? Int32Array.from(values, (v) => Math.round(v * 100)) : values;
      const x = tf.tensor(data, c.shape, dtype);
      const tiled = tf.tile(x, c.reps);
      assert.deepEqual(
        tiled.shape,
        c.shape.map((d, i) => d * c.reps[i]),
        label,
      );
      assert.deepEqual(
        [...tiled.dataSync()],
        tileByHand(data, c.shape, c.reps),
        `${label} ${dtype}`,
      );
      tf.dispose([x, tiled]);
    }
    await checkAgainstStock(label, [c.shape], (x) => tf.tile(x, c.reps));
  });
}

for (const [label, f] of [
  ['sum over axes 0, 2', (x: tf.Tensor) => tf.sum(x, [0, 2])],
  ['sum over all, keepDims', (x: tf.Tensor) => tf.sum(x, undefined, true)],
  ['mean over the last axis', (x: tf.Tensor) => tf.mean(x, -1)],
  ['mean over axes 0, 1, 2 (a batch norm statistic)', (x: tf.Tensor) => tf.mean(x, [0, 1, 2])],
] as const) {
  test(`${label}: dx is tfjs's, from one broadcast instead of a tensor of ones`, async () => {
    const stock = await checkAgainstStock(label, [[3, 4, 5, 2]], f);
    const ours = await gradientsOn('cpu', true, [[3, 4, 5, 2]], f);
    // The values are the same numbers (dy, or dy / count, at every position).
    assert.deepEqual([...ours.grads[0].values], [...stock.grads[0].values], label);
    // tfjs multiplies dy by a tensor of ones of x's shape (and divides it by the count), for
    // this Sum or Mean and for the loss's own Sum: two Multiplies that ours does with Tiles.
    const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;
    assert.equal(
      count(ours.kernels, 'Multiply'),
      count(stock.kernels, 'Multiply') - 2,
      `ours: ${ours.kernels}; stock: ${stock.kernels}`,
    );
    assert.ok(ours.kernels.includes('Tile'), `ours: ${ours.kernels}`);
  });
}

test("a batch norm in training: every gradient is tfjs's, in at most 60% of the passes", async () => {
  // tfjs-layers' BatchNormalization in training: moments over all axes but the channels, then
  // FusedBatchNorm with them; the gradient flows into x directly and through the statistics.
  const shapes = [[8, 5, 3, 6], [6], [6]];
  const f = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x as tf.Tensor4D, mean, variance, beta, gamma, 1e-3);
  };
  await checkAgainstStock('batch norm (training)', shapes, f);
  // Statistics given (inference-style): all five gradients. (tfjs cannot differentiate a batch
  // norm without its scale or offset: its tape takes the missing inputs as tensors.)
  const given = [[4, 5, 3, 6], [6], [6], [6], [6]];
  await checkAgainstStock('batch norm, given statistics', given, (x, m, v, o, sc) =>
    tf.batchNorm(x as tf.Tensor4D, m, tf.add(tf.square(v), 0.5), o, sc, 1e-2),
  );
  // Passes over the activations: kernels whose output has x's size (Identity, Reshape and a
  // float32 Cast move no data), in the forward pass and in forward + backward.
  const passes = async (fast: boolean, backward: boolean) => {
    await initEngine({ backend: 'cpu', fastGradients: fast });
    const [x, gamma, beta] = shapes.map((shape, i) => tf.tensor(seeded(size(shape), 3 + i), shape));
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c));
    const info = await tf.profile(() =>
      tf.dispose(backward ? tf.grads(loss)([x, gamma, beta]) : loss(x, gamma, beta)),
    );
    tf.dispose([x, gamma, beta]);
    return info.kernels.filter(
      (k) =>
        !['Identity', 'Reshape', 'Cast'].includes(k.name) &&
        (k.outputShapes ?? []).some((s) => size(s as number[]) === x.size),
    ).length;
  };
  const backwardPasses = async (fast: boolean) =>
    (await passes(fast, true)) - (await passes(fast, false));
  const stock = await backwardPasses(false);
  const ours = await backwardPasses(true);
  assert.ok(ours <= 0.6 * stock, `backward passes over x: ours ${ours}, stock ${stock}`);
});

test('a LayerNormalization gradient runs a few kernels, not one slice per tiled copy', async () => {
  // tfjs-layers tiles gamma and beta [1, 1, 32] to [16, 8, 32]: the stock Tile gradient adds
  // 128 slices of dy for each.
  const layer = tfl.layers.layerNormalization({ axis: -1 });
  const x = tf.tensor(seeded(16 * 8 * 32, 3), [16, 8, 32]);
  const r = tf.tensor(seeded(16 * 8 * 32, 4), [16, 8, 32]);
  tf.dispose(layer.apply(x) as tf.Tensor); // creates gamma and beta
  const run = async (fast: boolean) => {
    await initEngine({ backend: 'cpu', fastGradients: fast });
    let grads: Float32Array[] = [];
    const info = await tf.profile(() => {
      const { value, grads: g } = tf.variableGrads(() =>
        tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)),
      );
      grads = Object.values(g).map((t) => t.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(g)]);
    });
    return { kernels: info.kernels.length, grads };
  };
  const stock = await run(false);
  const ours = await run(true);
  assert.ok(stock.kernels > 2 * 128, `stock: ${stock.kernels} kernels`);
  assert.ok(ours.kernels < 100, `ours: ${ours.kernels} kernels (stock ${stock.kernels})`);
  assertClose(
    ours.grads.map((values) => ({ values, shape: [values.length] })),
    stock.grads.map((values) => ({ values, shape: [values.length] })),
    'layerNormalization gamma and beta',
  );
  tf.dispose([x, r]);
});

test('useFastGradients(false) restores the backends exactly as tfjs shipped them', async () => {
  await initEngine({ backend: 'cpu', fastGradients: false }); // both backend packages loaded
  await initEngine({ backend: 'wasm', fastGradients: false });
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const stockMatMul = tf.getKernel('BatchMatMul', 'wasm');
  const stockCpuFilter = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  const stockTile = tf.getKernel('Tile', 'wasm');
  const stockTileGradient = tf.getGradient('Tile');
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);

  await initEngine({ backend: 'wasm', fastGradients: true });
  assert.notEqual(tf.getKernel('Conv2DBackpropInput', 'wasm'), stockInput);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  assert.ok(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm'));
  assert.notEqual(tf.getKernel('Tile', 'wasm'), stockTile);
  assert.notEqual(tf.getGradient('Tile'), stockTileGradient);

  await initEngine({ backend: 'wasm', fastGradients: false });
  assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm'), stockInput);
  assert.equal(tf.getKernel('BatchMatMul', 'wasm'), stockMatMul);
  assert.equal(tf.getKernel('Tile', 'wasm'), stockTile);
  assert.equal(tf.getGradient('Tile'), stockTileGradient);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu'), stockCpuFilter);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
  assert.equal(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm'), undefined);
});

test("the MirrorPad gradient adds what the mirrored border received (tfjs's drops it)", async () => {
  await initEngine({ backend: 'cpu', fastGradients: true });
  const grad = (x: number[], paddings: [number, number][], mode: 'reflect' | 'symmetric') =>
    tf.tidy(() =>
      tf.grad((a: tf.Tensor) => tf.mirrorPad(a, paddings, mode))(
        tf.tensor1d(x),
        tf.tensor1d([10, 20, 30, 40, 50, 60]),
      ),
    );
  // x = [a b c] reflect by (2, 1) reads [c b a b c b]: da = 30, db = 20 + 40 + 60, dc = 10 + 50
  // (tfjs's own spec expects [30, 40, 50], the middle slice of dy).
  assert.deepEqual([...grad([1, 2, 3], [[2, 1]], 'reflect').dataSync()], [30, 120, 60]);
  // symmetric by (2, 1) reads [b a a b c c]: da = 20 + 30, db = 10 + 40, dc = 50 + 60.
  assert.deepEqual([...grad([1, 2, 3], [[2, 1]], 'symmetric').dataSync()], [50, 50, 110]);
  // A 4-D input padded on two axes: the gradient is the transpose of the padding's matrix, read
  // off the forward op column by column (the padding of each one-hot input), dy fixed.
  const shape = [1, 3, 4, 2];
  const paddings: [number, number][] = [
    [0, 0],
    [2, 1],
    [1, 3],
    [0, 0],
  ];
  const n = size(shape);
  const dy = tf.tensor(seeded(size([1, 6, 8, 2]), 5), [1, 6, 8, 2]);
  const dyValues = dy.dataSync();
  for (const mode of ['reflect', 'symmetric'] as const) {
    const ours = tf.tidy(() =>
      tf
        .grad((a: tf.Tensor) => tf.mirrorPad(a, paddings, mode))(tf.zeros(shape), dy)
        .dataSync(),
    );
    for (let i = 0; i < n; i++) {
      const column = tf.tidy(() =>
        tf
          .mirrorPad(tf.reshape(tf.cast(tf.oneHot(i, n), 'float32'), shape), paddings, mode)
          .dataSync(),
      );
      const want = Array.from(column).reduce((sum, c, j) => sum + c * dyValues[j], 0);
      assert.ok(Math.abs(ours[i] - want) < 1e-5, `${mode} [${i}]: ${ours[i]} vs ${want}`);
    }
  }
  dy.dispose();
});
