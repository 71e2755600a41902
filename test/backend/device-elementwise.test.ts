/**
 * The CUDA device's elementwise, reduction, pooling and indexing kernels, and its fused batch
 * norm in training, layer norm and softmax cross-entropy
 * (native/cuda/device_elementwise.inc) through anneal_cpu.node's `device`, the host build of the
 * very functors the GPU runs: inputs uploaded to DeviceVectors, each op run, its output
 * downloaded and compared with tfjs-backend-cpu's kernel of the same name on the same values.
 * Inputs hold NaN, ±Infinity, ±0 and ties; shapes are odd, broadcast from either side, and most
 * have 64K functor calls or more, so that the host build runs them on several threads.
 *
 * Exact (the same float, ±0 alike) wherever both sides round once from the same arithmetic;
 * within 1e-6 of 1 + |tfjs's value| where tfjs rounds elsewhere (Math.exp against expf, Mean's
 * divide-then-sum, a gradient summed in double, Softmax's sum rounded to float,
 * SquaredDifference's double square). And where anneal_host.node is built, the same bits as
 * the host device, whose loops call the same element rules (all but sums, which it folds in
 * another order). Where a GPU answers (ANNEAL_REQUIRE_CUDA=1 makes one required), every test
 * but that one runs on anneal_cuda.node too, with the same tolerances (CUDA's expf, logf and
 * tanhf are within 2 ulp; its division and sqrt are IEEE's). Skipped, with the reason, where
 * anneal_cpu.node is not built; CI builds it and sets ANNEAL_REQUIRE_HOST=1, so there a missing
 * addon fails instead.
 */
import assert from 'node:assert/strict';
import { afterEach, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Registers tfjs-core's gradients (its CommonJS build), which tf.grad's references need.
import '@tensorflow/tfjs-layers';
import { loadAddon } from '../../src/addons.js';
import type { DeviceBuffer } from '../../src/backend/device.js';
import { poolDims } from '../../src/backend/kernels/pool.js';
import { addon, each } from './device-targets.js';

type Dtype = 'float32' | 'int32' | 'bool';
type Host = Float32Array | Int32Array | Uint8Array;
type Vector = DeviceBuffer;
type Dims = readonly number[];
/**
 * The device functions this file calls (native/binding/backend_addon.cc): arrays are
 * DeviceVectors on the kernels addon (vector mode), typed arrays on anneal_host.node.
 */
interface Device<A = Vector> {
  binary(op: number, dims: Dims, a: A, as: Dims, b: A, bs: Dims, out: A): void;
  unary(op: number, x: A, y: A, alpha: number): void;
  reduce(op: number, x: A, y: A, outer: number, reduce: number, inner: number): void;
  softmax(x: A, y: A, rows: number, n: number): void;
  pool(shape: Dims, x: A, y: A, max: boolean): void;
  maxPoolGrad(shape: Dims, x: A, dy: A, dx: A): void;
  avgPoolGrad(shape: Dims, dy: A, dx: A): void;
  batchNorm(
    x: A,
    mean: A,
    variance: A,
    scale: A | null,
    offset: A | null,
    epsilon: number,
    out: A,
  ): void;
  concat(inputs: A[], widths: number[], outer: number, out: A): void;
  pad(inDims: Dims, before: Dims, after: Dims, x: A, value: number, out: A): void;
  gather(
    x: A,
    batch: number,
    outer: number,
    dim: number,
    slice: number,
    indices: A,
    out: A,
  ): boolean;
  oneHot(indices: A, depth: number, on: number, off: number, out: A): void;
  select(condition: A, t: A, e: A, out: A): void;
  fill(value: number, out: A): void;
  argReduce(op: number, x: A, y: A, outer: number, reduce: number, inner: number): void;
  compare(op: number, dims: Dims, a: A, as: Dims, b: A, bs: Dims, out: A): void;
  cast(x: A, y: A): void;
  moments(
    x: A,
    channels: number,
    mean: A,
    variance: A,
    movingMean: A | null,
    movingVariance: A | null,
    decay: number,
    newMovingMean: A | null,
    newMovingVariance: A | null,
  ): void;
  batchNormGrad(
    x: A,
    dy: A,
    channels: number,
    mean: A,
    variance: A,
    scale: A | null,
    dmean: A | null,
    dvariance: A | null,
    epsilon: number,
    dx: A,
    dscale: A,
    doffset: A,
  ): void;
  layerNorm(
    x: A,
    n: number,
    scale: A | null,
    offset: A | null,
    epsilon: number,
    y: A,
    mean: A,
    variance: A,
  ): void;
  layerNormGrad(
    x: A,
    dy: A,
    n: number,
    mean: A,
    variance: A,
    scale: A | null,
    epsilon: number,
    dx: A,
    dscale: A,
    doffset: A,
  ): void;
  crossEntropy(logits: A, labels: A, n: number, loss: A): void;
  crossEntropyGrad(logits: A, labels: A, dy: A, n: number, dlogits: A): void;
}
const device = () => addon().device as unknown as Device;

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

// Every vector a test makes, freed after it.
const made: Vector[] = [];
afterEach(() => made.splice(0).forEach((v) => v.free()));

const dtypeOf = (values: Host): Dtype =>
  values instanceof Float32Array ? 'float32' : values instanceof Int32Array ? 'int32' : 'bool';

/** A device vector holding `values` (its dtype from their array's type). */
function vec(values: Host): Vector {
  const v = new (addon().DeviceVector)(values.length, dtypeOf(values));
  made.push(v);
  addon().upload(v, values, 0);
  return v;
}

/** A device vector of `length` values of `dtype`, filled with a sentinel (never an output). */
function out(length: number, dtype: Dtype = 'float32'): Vector {
  const sentinel = { float32: Float32Array, int32: Int32Array, bool: Uint8Array }[dtype];
  return vec(new sentinel(length).fill(dtype === 'bool' ? 7 : -12345));
}

function read(v: Vector): Host {
  const host =
    v.dtype === 'float32'
      ? new Float32Array(v.length)
      : v.dtype === 'int32'
        ? new Int32Array(v.length)
        : new Uint8Array(v.length);
  addon().download(v, host);
  return host;
}

/** A tensor's values on tfjs-backend-cpu, disposed after. */
function cpu(f: () => tf.Tensor): Host {
  return tf.tidy(() => f().dataSync() as Host);
}

/**
 * got against want: the same length, NaN where NaN, and equal (±0 alike) or, with `tolerance`,
 * within tolerance * (1 + |want|). The first mismatches are named with their index.
 */
function same(got: Host, want: ArrayLike<number>, what: string, tolerance = 0): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 5; i++) {
    const [g, w] = [got[i], want[i]];
    const ok = Number.isNaN(w)
      ? Number.isNaN(g)
      : g === w || (tolerance > 0 && Math.abs(g - w) <= tolerance * (1 + Math.abs(w)));
    if (!ok) bad.push(`[${i}] ${g} vs tfjs ${w}`);
  }
  assert.deepEqual(bad, [], `${what}: device vs tfjs-backend-cpu`);
}

const CLOSE = 1e-6;

/** A seeded generator of uniform values in [0, 1) (mulberry32): the same inputs every run. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal values (Box-Muller) times `scale`. */
function normal(n: number, seed: number, scale = 1): Float32Array {
  const u = uniform(seed);
  return Float32Array.from(
    { length: n },
    () => scale * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()),
  );
}

/** n values from {-2, -1.5, ..., 2}: ties everywhere. */
function ties(n: number, seed: number): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => Math.floor(u() * 9) / 2 - 2);
}

/** `values` with NaN, ±Infinity and ±0 written at a few seeded places (and index 0 a NaN). */
function special(values: Float32Array, seed: number): Float32Array {
  const u = uniform(seed);
  const out = values.slice();
  const specials = [NaN, Infinity, -Infinity, 0, -0];
  out[0] = NaN;
  for (let k = 0; k < Math.max(5, values.length / 200); k++) {
    out[Math.floor(u() * values.length)] = specials[k % specials.length];
  }
  return out;
}

const size = (shape: Dims) => shape.reduce((a, b) => a * b, 1);

/** Row-major strides of `shape`. */
function stridesOf(shape: Dims): number[] {
  const strides = new Array<number>(shape.length);
  for (let k = shape.length - 1, step = 1; k >= 0; step *= shape[k], k--) strides[k] = step;
  return strides;
}

/** tfjs's broadcast of `shape` to `dims`: its strides over them, 0 where it broadcasts. */
function broadcast(shape: Dims, dims: Dims): number[] {
  const padded = [...new Array<number>(dims.length - shape.length).fill(1), ...shape];
  const strides = stridesOf(padded);
  return padded.map((d, k) => (d === 1 && dims[k] !== 1 ? 0 : strides[k]));
}

const tensor = (values: Host, shape: Dims) =>
  tf.tensor(values, [...shape], dtypeOf(values) as tf.DataType);

/** anneal_device.h's anneal_binary ops and tfjs's kernels of the same names. */
const BINARY: [string, number, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number][] = [
  ['Add', 0, tf.add, 0],
  ['Sub', 1, tf.sub, 0],
  ['Multiply', 2, tf.mul, 0],
  ['RealDiv', 3, tf.div, 0],
  ['Maximum', 4, tf.maximum, 0],
  ['Minimum', 5, tf.minimum, 0],
  // tfjs squares the difference in double, the device in float.
  ['SquaredDifference', 6, tf.squaredDifference, CLOSE],
];

/** Output dims and the shapes of a and b: same shape, either side broadcast, scalars, rank 6. */
const BROADCASTS: [Dims, Dims][] = [
  [[70001], [70001]],
  [
    [300, 7, 37],
    [7, 1],
  ],
  [
    [1, 37],
    [2100, 1],
  ],
  [[5, 13], []],
  [[], [3, 11]],
  [
    [2, 3, 1, 4, 5, 6],
    [3, 1, 5, 1],
  ],
];

function outShape(a: Dims, b: Dims): number[] {
  return tf.backend_util.assertAndGetBroadcastShape([...a], [...b]);
}

/** Runs a strided binary-shaped device op (binary or compare) on a and b of these shapes. */
function stridedOp(
  run: (dims: Dims, a: Vector, as: Dims, b: Vector, bs: Dims, o: Vector) => void,
  a: Host,
  aShape: Dims,
  b: Host,
  bShape: Dims,
  dtype: Dtype,
): Host {
  const shape = outShape(aShape, bShape);
  const dims = shape.length === 0 ? [1] : shape;
  const o = out(size(dims), dtype);
  run(dims, vec(a), broadcast(aShape, dims), vec(b), broadcast(bShape, dims), o);
  return read(o);
}

each('binary ops: broadcasting from either side, scalars, rank 6, NaN, ±Infinity, ±0', () => {
  BROADCASTS.forEach(([aShape, bShape], k) => {
    const a = special(normal(size(aShape), 10 + k, 3), 20 + k);
    const b = special(normal(size(bShape), 30 + k, 3), 40 + k);
    for (const [name, op, f, tolerance] of BINARY) {
      const got = stridedOp(
        (...args) => device().binary(op, ...args),
        a,
        aShape,
        b,
        bShape,
        'float32',
      );
      const want = cpu(() => f(tensor(a, aShape), tensor(b, bShape)));
      same(got, want, `${name} [${aShape}] with [${bShape}]`, tolerance);
    }
  });
});

each('binary COPY: Transpose and Tile as strided reads', () => {
  const copy = (dims: Dims, a: Vector, as: Dims, o: Vector) =>
    device().binary(
      7,
      dims,
      a,
      as,
      a,
      as.map(() => 0),
      o,
    );
  // Transpose [37, 41, 53] by [2, 0, 1]: the output's dim k reads x's dim perm[k].
  const shape = [37, 41, 53];
  const perm = [2, 0, 1];
  const x = special(normal(size(shape), 1), 2);
  const strides = stridesOf(shape);
  const o = out(x.length);
  copy(
    perm.map((p) => shape[p]),
    vec(x),
    perm.map((p) => strides[p]),
    o,
  );
  same(
    read(o),
    cpu(() => tf.transpose(tensor(x, shape), perm)),
    'Transpose',
  );
  // Tile [3, 5] by [2, 3] is [2, 3, 3, 5] (repeat, row, repeat, column), the repeats' strides 0.
  const small = normal(15, 3);
  const tiled = out(90);
  copy([2, 3, 3, 5], vec(small), [0, 5, 0, 1], tiled);
  same(
    read(tiled),
    cpu(() => tf.tile(tensor(small, [3, 5]), [2, 3])),
    'Tile',
  );
});

each('binary RELU_GRAD: dy * step(x), NaN where x is NaN, 0 * Infinity NaN', () => {
  for (const [dyShape, xShape] of [
    [[70001], [70001]],
    [[300, 7, 37], [37]],
  ] as [Dims, Dims][]) {
    const dy = special(normal(size(dyShape), 5), 6);
    const x = special(ties(size(xShape), 7), 8);
    const got = stridedOp(
      (...args) => device().binary(8, ...args),
      dy,
      dyShape,
      x,
      xShape,
      'float32',
    );
    const want = cpu(() => tf.mul(tensor(dy, dyShape), tf.step(tensor(x, xShape))));
    same(got, want, `ReluGrad [${dyShape}] with x [${xShape}]`);
  }
});

each('unary ops, Step with its alpha, Erf by A&S 7.1.26 in double', () => {
  const x = special(normal(70001, 9, 4), 10);
  const UNARY: [string, number, (t: tf.Tensor) => tf.Tensor, number][] = [
    ['Relu', 0, tf.relu, 0],
    ['Step', 1, (t) => tf.step(t, 0.3), 0],
    ['Square', 2, tf.square, 0],
    ['Neg', 3, tf.neg, 0],
    ['Exp', 4, tf.exp, CLOSE],
    ['Log', 5, tf.log, CLOSE],
    ['Sqrt', 6, tf.sqrt, 0],
    ['Rsqrt', 7, tf.rsqrt, CLOSE],
    ['Sigmoid', 8, tf.sigmoid, CLOSE],
    ['Tanh', 9, tf.tanh, CLOSE],
    ['Abs', 10, tf.abs, 0],
    ['Erf', 11, tf.erf, CLOSE],
  ];
  for (const [name, op, f, tolerance] of UNARY) {
    const y = out(x.length);
    device().unary(op, vec(x), y, 0.3);
    same(
      read(y),
      cpu(() => f(tensor(x, [x.length]))),
      name,
      tolerance,
    );
  }
});

each('reductions over [outer, reduce, inner]: Sum, Mean, Max, Min with NaN', () => {
  const REDUCE: [string, number, (t: tf.Tensor) => tf.Tensor, number][] = [
    ['Sum', 0, (t) => tf.sum(t, 1), 0],
    // tfjs's Mean divides each value, then sums; the device sums, then divides.
    ['Mean', 1, (t) => tf.mean(t, 1), CLOSE],
    ['Max', 2, (t) => tf.max(t, 1), 0],
    ['Min', 3, (t) => tf.min(t, 1), 0],
  ];
  const shapes: [number, number, number][] = [
    [3, 1001, 50],
    [70001, 3, 1],
    [1, 5, 70001],
    [1, 100003, 1],
  ];
  shapes.forEach((shape, k) => {
    const [outer, reduce, inner] = shape;
    // NaN at a few places only: most outputs are numbers, some NaN.
    const x = normal(size(shape), 50 + k);
    x[7] = NaN;
    x[x.length - 3] = NaN;
    x[x.length >> 1] = Infinity;
    for (const [name, op, f, tolerance] of REDUCE) {
      const y = out(outer * inner);
      device().reduce(op, vec(x), y, outer, reduce, inner);
      same(
        read(y),
        cpu(() => f(tensor(x, shape))),
        `${name} [${shape}]`,
        tolerance,
      );
    }
  });
});

each('Softmax row by row: a NaN row, an Infinity, rows on several threads', () => {
  for (const [rows, n] of [
    [70001, 3],
    [301, 257],
  ]) {
    const x = normal(rows * n, rows, 5);
    x[n + 1] = NaN;
    x[2 * n] = -Infinity;
    const y = out(x.length);
    device().softmax(vec(x), y, rows, n);
    same(
      read(y),
      cpu(() => tf.softmax(tensor(x, [rows, n]))),
      `Softmax [${rows}, ${n}]`,
      CLOSE,
    );
  }
});

/** A pooling's anneal_pool2d fields, from tfjs's own shape arithmetic. */
function poolShape(
  x: Dims,
  filter: [number, number],
  strides: [number, number],
  pad: 'same' | 'valid',
  dilations: [number, number] = [1, 1],
): number[] {
  const info = tf.backend_util.computePool2DInfo(
    x as [number, number, number, number],
    filter,
    strides,
    dilations,
    pad,
  );
  return [...poolDims(info)];
}

/** Pool inputs: ties (so windows have several maxima), a few NaN, one all -Infinity window. */
function poolInput(shape: Dims, seed: number): Float32Array {
  const x = ties(size(shape), seed);
  const u = uniform(seed + 1);
  for (let k = 0; k < 20; k++) x[Math.floor(u() * x.length)] = NaN;
  const c = shape[3];
  for (const [r, q] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ])
    x[(r * shape[2] + q) * c] = -Infinity;
  return x;
}

const POOLS: [Dims, [number, number], [number, number], 'same' | 'valid'][] = [
  [[4, 37, 29, 17], [3, 3], [2, 2], 'same'],
  [[4, 37, 29, 17], [2, 2], [2, 2], 'valid'],
  [[3, 41, 31, 19], [3, 3], [1, 1], 'same'],
  [[2, 9, 11, 3], [4, 3], [3, 2], 'same'],
];

each('MaxPool and AvgPool: padding never wins, windows partly outside', () => {
  POOLS.forEach(([shape, filter, strides, pad], k) => {
    const x = poolInput(shape, 60 + k);
    const s = poolShape(shape, filter, strides, pad);
    const what = `[${shape}] ${filter} / ${strides} ${pad}`;
    for (const max of [true, false]) {
      const y = out(s[0] * s[6] * s[7] * s[3]);
      device().pool(s, vec(x), y, max);
      const f = max ? tf.maxPool : tf.avgPool;
      same(
        read(y),
        cpu(() => f(tensor(x, shape) as tf.Tensor4D, filter, strides, pad)),
        what,
      );
    }
  });
  // Dilated windows (tf.pool: stride 1, 'valid').
  const shape = [2, 23, 19, 5];
  const x = poolInput(shape, 70);
  const s = poolShape(shape, [3, 2], [1, 1], 'valid', [2, 3]);
  for (const max of [true, false]) {
    const y = out(s[0] * s[6] * s[7] * s[3]);
    device().pool(s, vec(x), y, max);
    const want = cpu(() =>
      tf.pool(tensor(x, shape) as tf.Tensor4D, [3, 2], max ? 'max' : 'avg', 'valid', [2, 3], 1),
    );
    same(read(y), want, `dilated ${max ? 'max' : 'avg'} pool`);
  }
});

each('MaxPoolGrad and AvgPoolGrad against tf.grad: the first maximum takes dy', () => {
  POOLS.forEach(([shape, filter, strides, pad], k) => {
    const x = poolInput(shape, 80 + k);
    const s = poolShape(shape, filter, strides, pad);
    const dy = normal(s[0] * s[6] * s[7] * s[3], 90 + k);
    const outShape4 = [s[0], s[6], s[7], s[3]];
    const what = `[${shape}] ${filter} / ${strides} ${pad}`;
    const dxMax = out(x.length);
    device().maxPoolGrad(s, vec(x), vec(dy), dxMax);
    const wantMax = cpu(() =>
      tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, filter, strides, pad))(
        tensor(x, shape),
        tensor(dy, outShape4),
      ),
    );
    // tfjs sums a value's shares in double, the device in float.
    same(read(dxMax), wantMax, `MaxPoolGrad ${what}`, CLOSE);
    const dxAvg = out(x.length);
    device().avgPoolGrad(s, vec(dy), dxAvg);
    const wantAvg = cpu(() =>
      tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, filter, strides, pad))(
        tensor(x, shape),
        tensor(dy, outShape4),
      ),
    );
    same(read(dxAvg), wantAvg, `AvgPoolGrad ${what}`, CLOSE);
  });
});

/**
 * Pooling gradients by their definition, scattered window by window (tfjs's MaxPoolGrad takes
 * no dilation): each window passes dy to its first maximum (none where no value beats
 * -Infinity), or dy / (filter height * width) to each of its positions inside the image.
 */
function scatterGrads(s: Dims, x: Float32Array, dy: Float32Array) {
  const [batch, h, w, c, fh, fw, oh, ow, sh, sw, dh, dw, top, left] = s;
  const max = new Float64Array(x.length);
  const avg = new Float64Array(x.length);
  for (let b = 0; b < batch; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let d = 0; d < c; d++) {
          const g = dy[((b * oh + oy) * ow + ox) * c + d];
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < fh; i++)
            for (let j = 0; j < fw; j++) {
              const r = oy * sh - top + i * dh;
              const q = ox * sw - left + j * dw;
              if (r < 0 || r >= h || q < 0 || q >= w) continue;
              const p = ((b * h + r) * w + q) * c + d;
              if (x[p] > best) [best, at] = [x[p], p];
              avg[p] += g / (fh * fw);
            }
          if (at >= 0) max[at] += g;
        }
  return { max, avg };
}

/**
 * anneal_pool2d fields with dilation and any stride (tfjs's computePool2DInfo takes dilation
 * with stride 1 only), by tfjs's formulas: 'same' gives ceil(in / stride) outputs, padded
 * before by half the total (rounded down); 'valid' fits whole dilated windows.
 */
function dilatedPool(
  x: Dims,
  filter: [number, number],
  strides: [number, number],
  dilations: [number, number],
  pad: 'same' | 'valid',
): number[] {
  const axis = (size: number, f: number, stride: number, dilation: number) => {
    const effective = (f - 1) * dilation + 1;
    if (pad === 'valid') return { out: Math.ceil((size - effective + 1) / stride), before: 0 };
    const out = Math.ceil(size / stride);
    return { out, before: Math.floor(Math.max(0, (out - 1) * stride + effective - size) / 2) };
  };
  const rows = axis(x[1], filter[0], strides[0], dilations[0]);
  const cols = axis(x[2], filter[1], strides[1], dilations[1]);
  return [...x, ...filter, rows.out, cols.out, ...strides, ...dilations, rows.before, cols.before];
}

each('MaxPoolGrad and AvgPoolGrad with dilation, against their definition', () => {
  const shape = [3, 29, 23, 7];
  const x = poolInput(shape, 100);
  for (const [strides, pad] of [
    [[1, 1], 'valid'],
    [[2, 1], 'same'],
    [[1, 3], 'same'],
  ] as [[number, number], 'same' | 'valid'][]) {
    const s = dilatedPool(shape, [3, 3], strides, [2, 3], pad);
    const dy = normal(s[0] * s[6] * s[7] * s[3], 101);
    const want = scatterGrads(s, x, dy);
    const what = `strides ${strides} ${pad}`;
    const dx = out(x.length);
    device().maxPoolGrad(s, vec(x), vec(dy), dx);
    same(read(dx), want.max, `dilated MaxPoolGrad, ${what}`, CLOSE);
    device().avgPoolGrad(s, vec(dy), dx);
    same(read(dx), want.avg, `dilated AvgPoolGrad, ${what}`, CLOSE);
  }
});

each('FusedBatchNorm: per channel, parameters of length 1, no scale or offset', () => {
  const shape = [4, 25, 25, 29];
  const x = special(normal(size(shape), 110, 2), 111);
  const c = shape[3];
  const mean = normal(c, 112);
  const variance = normal(c, 113).map((v) => v * v);
  const scale = normal(c, 114);
  const offset = normal(c, 115);
  const cases: [string, Float32Array, Float32Array, Float32Array | null, Float32Array | null][] = [
    ['per channel', mean, variance, scale, offset],
    ['no scale or offset', mean, variance, null, null],
    ['variance and offset of length 1', mean, variance.slice(0, 1), scale, offset.slice(0, 1)],
  ];
  for (const [name, m, v, sc, of] of cases) {
    const y = out(x.length);
    device().batchNorm(vec(x), vec(m), vec(v), sc && vec(sc), of && vec(of), 0.001, y);
    const t1 = (values: Float32Array | null) =>
      values ? tensor(values, [values.length]) : undefined;
    const want = cpu(() => tf.batchNorm(tensor(x, shape), t1(m)!, t1(v)!, t1(of), t1(sc), 0.001));
    same(read(y), want, `FusedBatchNorm, ${name}`);
  }
});

each('batch norm in training: moments with moving averages, and the gradient through them', () => {
  // 5,000 rows: more than one part of the sums (parts of 1,024 rows), and several threads.
  const shape = [5, 25, 40, 7];
  const c = shape[3];
  const n = size(shape);
  const x = Float32Array.from(normal(n, 130, 2), (v) => v + 3);
  const [dy, scale] = [normal(n, 131), normal(c, 132)];
  const [dmean, dvariance] = [normal(c, 133), normal(c, 134)];
  const [movingMean, movingVariance] = [normal(c, 135), normal(c, 136).map((v) => v * v)];
  const [mean, variance, newMean, newVariance] = [0, 1, 2, 3].map(() => out(c));
  device().moments(
    vec(x),
    c,
    mean,
    variance,
    vec(movingMean),
    vec(movingVariance),
    0.1,
    newMean,
    newVariance,
  );
  const axes = [0, 1, 2];
  const want = tf.tidy(() => {
    const m = tf.moments(tensor(x, shape), axes);
    const step = (v: Float32Array, value: tf.Tensor) =>
      tf.sub(tensor(v, [c]), tf.mul(tf.sub(tensor(v, [c]), value), 0.1));
    return [m.mean, m.variance, step(movingMean, m.mean), step(movingVariance, m.variance)].map(
      (t) => t.dataSync() as Float32Array,
    );
  });
  // Sums in double in another order than tfjs's float ops: within CLOSE.
  [mean, variance, newMean, newVariance].forEach((v, k) =>
    same(read(v), want[k], ['mean', 'variance', 'moving mean', 'moving variance'][k], CLOSE),
  );
  // The gradient of sum(y dy) + sum(mean dmean) + sum(variance dvariance), y the batch-normed x,
  // through x (the statistics included) and scale and offset: tfjs's autodiff of its own ops.
  const [dx, dscale, doffset] = [out(n), out(c), out(c)];
  const [m, v] = [read(mean), read(variance)];
  device().batchNormGrad(
    vec(x),
    vec(dy),
    c,
    vec(m),
    vec(v),
    vec(scale),
    vec(dmean),
    vec(dvariance),
    1e-3,
    dx,
    dscale,
    doffset,
  );
  const grads = tf.tidy(() =>
    tf
      .grads((xs: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) => {
        const s = tf.moments(xs, axes);
        const y = tf.batchNorm(xs, s.mean, s.variance, of, sc, 1e-3);
        return tf.addN([
          tf.sum(tf.mul(y, tensor(dy, shape))),
          tf.sum(tf.mul(s.mean, tensor(dmean, [c]))),
          tf.sum(tf.mul(s.variance, tensor(dvariance, [c]))),
        ]);
      })([tensor(x, shape), tensor(scale, [c]), tf.zeros([c])])
      .map((t) => t.dataSync() as Float32Array),
  );
  same(read(dx), grads[0], 'batch norm dx', 1e-4);
  same(read(dscale), grads[1], 'batch norm dscale', 1e-4);
  same(read(doffset), grads[2], 'batch norm doffset', 1e-4);
});

each("layer norm over the last axis and its gradient, against tfjs-layers' ops", () => {
  // 3,000 rows: more than one part of the parameters' column sums.
  const [rows, n] = [3000, 24];
  const shape = [rows, n];
  const x = Float32Array.from(normal(rows * n, 150, 2), (v) => v - 1);
  const [dy, scale, offset] = [normal(rows * n, 151), normal(n, 152), normal(n, 153)];
  const [y, mean, variance] = [out(rows * n), out(rows), out(rows)];
  device().layerNorm(vec(x), n, vec(scale), vec(offset), 1e-5, y, mean, variance);
  // tfjs-layers' LayerNormalization: moments over the last axis, every parameter tiled to x's
  // shape (its gradient needs them so), tf.batchNorm; and tfjs's gradients of sum(y dy).
  const layer = (xs: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) => {
    const m = tf.moments(xs, -1, true);
    const tiled = (t: tf.Tensor) => tf.tile(tf.reshape(t, [1, n]), [rows, 1]);
    return tf.batchNorm(
      xs,
      tf.tile(m.mean, [1, n]),
      tf.tile(m.variance, [1, n]),
      tiled(of),
      tiled(sc),
      1e-5,
    );
  };
  same(
    read(y),
    cpu(() => layer(tensor(x, shape), tensor(scale, [n]), tensor(offset, [n]))),
    'layer norm',
    CLOSE,
  );
  const [dx, dscale, doffset] = [out(rows * n), out(n), out(n)];
  device().layerNormGrad(
    vec(x),
    vec(dy),
    n,
    vec(read(mean)),
    vec(read(variance)),
    vec(scale),
    1e-5,
    dx,
    dscale,
    doffset,
  );
  const grads = tf.tidy(() =>
    tf
      .grads((xs: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) =>
        tf.sum(tf.mul(layer(xs, sc, of), tensor(dy, shape))),
      )([tensor(x, shape), tensor(scale, [n]), tensor(offset, [n])])
      .map((t) => t.dataSync() as Float32Array),
  );
  same(read(dx), grads[0], 'layer norm dx', 1e-4);
  same(read(dscale), grads[1], 'layer norm dscale', 1e-4);
  same(read(doffset), grads[2], 'layer norm doffset', 1e-4);
});

each('softmax cross-entropy and its gradient, row by row, as tfjs computes them', () => {
  const [rows, n] = [3000, 10];
  const logits = special(normal(rows * n, 140, 8), 141);
  const labels = Float32Array.from(normal(rows * n, 142), Math.abs);
  const dy = normal(rows, 143);
  const loss = out(rows);
  device().crossEntropy(vec(logits), vec(labels), n, loss);
  const shape = [rows, n];
  const rowLosses = (z: tf.Tensor) => {
    const logResult = tf.sub(z, tf.logSumExp(z, -1, true));
    return tf.sum(tf.neg(tf.mul(logResult, tensor(labels, shape))), -1);
  };
  same(
    read(loss),
    cpu(() => rowLosses(tensor(logits, shape))),
    'cross-entropy',
    CLOSE,
  );
  const dlogits = out(rows * n);
  device().crossEntropyGrad(vec(logits), vec(labels), vec(dy), n, dlogits);
  // tfjs's gradient (softmaxCrossEntropyWithLogits'): dy (exp(logits - lse) - labels).
  const want = cpu(() => {
    const z = tensor(logits, shape);
    const softmax = tf.exp(tf.sub(z, tf.logSumExp(z, -1, true)));
    return tf.mul(
      tf.reshape(tensor(dy, [rows]), [rows, 1]),
      tf.sub(softmax, tensor(labels, shape)),
    );
  });
  same(read(dlogits), want, 'cross-entropy gradient', CLOSE);
});

each('Concat along the last and a middle axis, a zero-width input', () => {
  const cases: [Dims[], number][] = [
    [
      [
        [300, 7, 11],
        [300, 7, 20],
        [300, 7, 1],
        [300, 7, 0],
      ],
      2,
    ],
    [
      [
        [300, 7, 11],
        [300, 13, 11],
      ],
      1,
    ],
  ];
  cases.forEach(([shapes, axis], k) => {
    const values = shapes.map((shape, i) => normal(size(shape), 120 + 10 * k + i));
    const outer = size(shapes[0].slice(0, axis));
    const widths = shapes.map((shape) => size(shape.slice(axis)));
    const y = out(outer * widths.reduce((a, b) => a + b, 0));
    device().concat(values.map(vec), widths, outer, y);
    const want = cpu(() =>
      tf.concat(
        values.map((v, i) => tensor(v, shapes[i])),
        axis,
      ),
    );
    same(read(y), want, `Concat axis ${axis}`);
  });
});

/** The 32-bit word of a float32 or int32 value, as the word-moving kernels take it. */
function word(value: number, dtype: 'float32' | 'int32'): number {
  const words = new Uint32Array(1);
  (dtype === 'float32' ? new Float32Array(words.buffer) : new Int32Array(words.buffer))[0] = value;
  return words[0];
}

/** float32 and int32 values of one length. */
function valuesOf(dtype: 'float32' | 'int32', n: number, seed: number): Float32Array | Int32Array {
  const x = normal(n, seed, 1000);
  return dtype === 'float32' ? special(x, seed + 1) : Int32Array.from(x, Math.round);
}

each('Pad: float32 and int32, rank 3 and 6, padding on every side', () => {
  const cases: [Dims, [number, number][], number][] = [
    [
      [33, 45, 47],
      [
        [1, 2],
        [0, 3],
        [2, 0],
      ],
      1.5,
    ],
    [
      [2, 1, 3, 2, 1, 4],
      [
        [1, 0],
        [0, 1],
        [1, 1],
        [0, 0],
        [2, 1],
        [1, 2],
      ],
      -3,
    ],
  ];
  for (const dtype of ['float32', 'int32'] as const) {
    cases.forEach(([shape, paddings, value], k) => {
      const x = valuesOf(dtype, size(shape), 130 + k);
      const y = out(size(shape.map((d, i) => d + paddings[i][0] + paddings[i][1])), dtype);
      device().pad(
        shape,
        paddings.map((p) => p[0]),
        paddings.map((p) => p[1]),
        vec(x),
        word(value, dtype),
        y,
      );
      const want = cpu(() => tf.pad(tensor(x, shape), paddings, value));
      same(read(y), want, `Pad ${dtype} [${shape}]`);
    });
  }
});

each('GatherV2: axes, batch dims, int32; an index out of range writes nothing', () => {
  const shape = [5, 40, 17, 3];
  for (const dtype of ['float32', 'int32'] as const) {
    const x = valuesOf(dtype, size(shape), 140);
    const u = uniform(141);
    // axis 2 over all 120 indices (batch 1, outer 200), and with batchDims 1 (indices [5, 9]).
    const flat = Int32Array.from({ length: 120 }, () => Math.floor(u() * 17));
    const y = out(200 * 120 * 3, dtype);
    assert.equal(device().gather(vec(x), 1, 200, 17, 3, vec(flat), y), true);
    same(
      read(y),
      cpu(() => tf.gather(tensor(x, shape), tensor(flat, [120]), 2)),
      `${dtype} axis 2`,
    );
    const batched = Int32Array.from({ length: 45 }, () => Math.floor(u() * 17));
    const yb = out(5 * 40 * 9 * 3, dtype);
    assert.equal(device().gather(vec(x), 5, 40, 17, 3, vec(batched), yb), true);
    const want = cpu(() => tf.gather(tensor(x, shape), tensor(batched, [5, 9]), 2, 1));
    same(read(yb), want, `${dtype} axis 2, batchDims 1`);
  }
  // Out of range: tfjs throws; the device says false and writes nothing.
  const x = normal(size(shape), 142);
  for (const bad of [17, -1]) {
    const indices = Int32Array.from([3, 0, 16, bad, 2]);
    const y = out(200 * 5 * 3);
    assert.equal(device().gather(vec(x), 1, 200, 17, 3, vec(indices), y), false, `index ${bad}`);
    assert.ok(
      read(y).every((v) => v === -12345),
      `index ${bad}: nothing written`,
    );
    assert.throws(
      () => cpu(() => tf.gather(tensor(x, shape), tensor(indices, [5]), 2)),
      /GatherV2: the index value/,
    );
  }
});

each('OneHot: indices outside [0, depth) give a row of off', () => {
  const depth = 11;
  const u = uniform(150);
  const indices = Int32Array.from({ length: 7001 }, () => Math.floor(u() * (depth + 4)) - 2);
  for (const dtype of ['float32', 'int32'] as const) {
    const [on, off] = dtype === 'float32' ? [2.5, -0.75] : [7, -3];
    const y = out(indices.length * depth, dtype);
    device().oneHot(vec(indices), depth, word(on, dtype), word(off, dtype), y);
    const want = cpu(() => tf.oneHot(tensor(indices, [indices.length]), depth, on, off, dtype));
    same(read(y), want, `OneHot ${dtype}`);
  }
});

each('Select (tf.where) and Fill, float32 and int32', () => {
  const n = 70001;
  const u = uniform(160);
  const condition = Uint8Array.from({ length: n }, () => (u() < 0.5 ? 1 : 0));
  for (const dtype of ['float32', 'int32'] as const) {
    const t = valuesOf(dtype, n, 161);
    const e = valuesOf(dtype, n, 162);
    const y = out(n, dtype);
    device().select(vec(condition), vec(t), vec(e), y);
    const want = cpu(() => tf.where(tensor(condition, [n]), tensor(t, [n]), tensor(e, [n])));
    same(read(y), want, `Select ${dtype}`);
    const value = dtype === 'float32' ? -2.75 : -7;
    const filled = out(n, dtype);
    device().fill(word(value, dtype), filled);
    same(
      read(filled),
      cpu(() => tf.fill([n], value, dtype)),
      `Fill ${dtype}`,
    );
  }
});

each('ArgMax and ArgMin: the first of ties wins, NaN only where it comes first', () => {
  const shapes: [number, number, number][] = [
    [70001, 3, 1],
    [3, 57, 1000],
    [1, 100003, 1],
  ];
  shapes.forEach((shape, k) => {
    for (const dtype of ['float32', 'int32'] as const) {
      const base = ties(size(shape), 170 + k);
      const x = dtype === 'float32' ? special(base, 171 + k) : Int32Array.from(base, (v) => 2 * v);
      for (const [name, op, f] of [
        ['ArgMax', 0, tf.argMax],
        ['ArgMin', 1, tf.argMin],
      ] as const) {
        const y = out(shape[0] * shape[2], 'int32');
        device().argReduce(op, vec(x), y, ...shape);
        same(
          read(y),
          cpu(() => f(tensor(x, shape), 1)),
          `${name} ${dtype} [${shape}]`,
        );
      }
    }
  });
});

each('comparisons: float32 with NaN, int32 and bool, broadcasting from either side', () => {
  const COMPARE: [string, number, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['Equal', 0, tf.equal],
    ['NotEqual', 1, tf.notEqual],
    ['Greater', 2, tf.greater],
    ['GreaterEqual', 3, tf.greaterEqual],
    ['Less', 4, tf.less],
    ['LessEqual', 5, tf.lessEqual],
  ];
  BROADCASTS.forEach(([aShape, bShape], k) => {
    const inputs: [Host, Host][] = [
      [special(ties(size(aShape), 180 + k), 181), special(ties(size(bShape), 182 + k), 183)],
      [Int32Array.from(ties(size(aShape), 184 + k)), Int32Array.from(ties(size(bShape), 185 + k))],
      [
        Uint8Array.from(ties(size(aShape), 186 + k), (v) => (v > 0 ? 1 : 0)),
        Uint8Array.from(ties(size(bShape), 187 + k), (v) => (v > 0 ? 1 : 0)),
      ],
    ];
    for (const [a, b] of inputs) {
      for (const [name, op, f] of COMPARE) {
        const got = stridedOp(
          (...args) => device().compare(op, ...args),
          a,
          aShape,
          b,
          bShape,
          'bool',
        );
        const want = cpu(() => f(tensor(a, aShape), tensor(b, bShape)));
        same(got, want, `${name} ${dtypeOf(a)} [${aShape}] with [${bShape}]`);
      }
    }
  });
});

each('Cast: float32 -> int32 as ToInt32 (modulo 2^32, NaN 0), -> bool (NaN true)', () => {
  const edges = [
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
    0.5,
    -0.5,
    2.5,
    -2.5,
    2147483647,
    2147483648,
    -2147483648,
    -2147483904,
    3e9,
    -3e9,
    4294967296,
    1e20,
    -1e20,
    16777217,
    1.5e10,
  ];
  const x = normal(70001, 190, 3e9);
  x.set(edges);
  const toInt = out(x.length, 'int32');
  device().cast(vec(x), toInt);
  same(
    read(toInt),
    cpu(() => tf.cast(tensor(x, [x.length]), 'int32')),
    'float32 -> int32',
  );
  const toBool = out(x.length, 'bool');
  device().cast(vec(x), toBool);
  same(
    read(toBool),
    cpu(() => tf.cast(tensor(x, [x.length]), 'bool')),
    'float32 -> bool',
  );
  const ints = Int32Array.from(ties(70001, 191), (v) => 2 * v);
  const intToBool = out(ints.length, 'bool');
  device().cast(vec(ints), intToBool);
  same(
    read(intToBool),
    cpu(() => tf.cast(tensor(ints, [ints.length]), 'bool')),
    'int32 -> bool',
  );
  // The widenings, against JavaScript's own conversions: int32 -> float32 rounds to the nearest
  // float32, ties to even (2^24 + 1 -> 2^24, 2^24 + 3 -> 2^24 + 4).
  const wide = Int32Array.from([
    ...ints.subarray(0, 1000),
    16777217,
    16777219,
    -16777219,
    2147483647,
    -2147483648,
    0,
  ]);
  const intToFloat = out(wide.length, 'float32');
  device().cast(vec(wide), intToFloat);
  same(read(intToFloat), Float32Array.from(wide), 'int32 -> float32');
  assert.deepEqual(
    [...read(intToFloat).subarray(1000, 1005)],
    [16777216, 16777220, -16777220, 2147483648, -2147483648],
  );
  const bools = Uint8Array.from(ties(70001, 192), (v) => (v > 0 ? 1 : 0));
  const boolToFloat = out(bools.length, 'float32');
  device().cast(vec(bools), boolToFloat);
  same(read(boolToFloat), Float32Array.from(bools), 'bool -> float32');
  const boolToInt = out(bools.length, 'int32');
  device().cast(vec(bools), boolToInt);
  same(read(boolToInt), Int32Array.from(bools), 'bool -> int32');
  assert.ok(bools.includes(0) && bools.includes(1), 'both values occur');
});

each('refusals: unknown ops and impossible shapes are INVALID, naming the value', () => {
  const invalid = (f: () => unknown, message: RegExp) =>
    assert.throws(f, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ANNEAL_DEVICE_INVALID', e.message);
      assert.match(e.message, message);
      return true;
    });
  const x = vec(new Float32Array(6));
  invalid(() => device().unary(12, x, out(6), 0), /unary: op 12 is not one of .*\(0-11\)/);
  invalid(() => device().binary(9, [6], x, [1], x, [1], out(6)), /binary: op 9 .*\(0-8\)/);
  invalid(() => device().reduce(4, x, out(2), 2, 3, 1), /reduce: op 4 .*\(0-3\)/);
  invalid(() => device().argReduce(2, x, out(2, 'int32'), 2, 3, 1), /arg_reduce: op 2/);
  invalid(
    () => device().compare(6, [6], x, [1], x, [1], out(6, 'bool')),
    /compare: op 6 .*\(0-5\)/,
  );
  const pool = [1, 2, 3, 1, 2, 2, 1, 1, 0, 1, 1, 1, 0, 0];
  invalid(
    () => device().pool(pool, x, out(1), true),
    /max_pool: stride_height is 0, expected >= 1/,
  );
  invalid(() => device().avgPoolGrad(pool, out(1), out(6)), /avg_pool_grad: stride_height is 0/);
});

// The host device (anneal_host.node, on oneDNN), where it is built: its loops call the same
// element rules (native/device/element_rules.h), so both devices give the same bits.
const hostLoaded = loadAddon<Device<Host>>(
  'anneal_host.node',
  'install oneDNN (`apt-get install libdnnl-dev`), then run `npm run build:addon`',
);
const hostSkip = 'reason' in hostLoaded ? hostLoaded.reason : false;
const hostDevice = () => (hostLoaded as { addon: Device<Host> }).addon;

/**
 * Runs `run` on both devices (vec / a sentinel-filled output on this one, the arrays themselves
 * on the host device) and asserts the same bits, ±0 and NaN included.
 */
function sameOnBoth(
  what: string,
  length: number,
  dtype: Dtype,
  run: (dev: Device<Vector | Host>, input: (h: Host) => Vector | Host, o: Vector | Host) => void,
): void {
  const o = out(length, dtype);
  run(device() as Device<Vector | Host>, vec, o);
  const got = read(o);
  const want = read(out(length, dtype));
  run(hostDevice() as Device<Vector | Host>, (h) => h, want);
  const bad: string[] = [];
  for (let i = 0; i < length && bad.length < 5; i++) {
    if (!Object.is(got[i], want[i])) bad.push(`[${i}] ${got[i]} vs host ${want[i]}`);
  }
  assert.deepEqual(bad, [], `${what}: CUDA device (host build) vs host device`);
}

each(
  'the same bits as the host device, whose loops share the element rules',
  () => {
    const x = special(normal(70001, 200, 4), 201);
    const b = special(normal(37, 202, 4), 203);
    for (let op = 0; op <= 8; op++) {
      sameOnBoth(`binary ${op}`, 69967, 'float32', (dev, input, o) =>
        dev.binary(op, [1891, 37], input(x), [37, 1], input(b), [0, 1], o),
      );
    }
    for (let op = 0; op <= 11; op++) {
      sameOnBoth(`unary ${op}`, x.length, 'float32', (dev, input, o) =>
        dev.unary(op, input(x), o, 0.3),
      );
    }
    // Max and Min (sums: the host device folds in another order).
    for (const op of [2, 3]) {
      sameOnBoth(`reduce ${op}`, 1891, 'float32', (dev, input, o) =>
        dev.reduce(op, input(x.subarray(0, 69967)), o, 1891, 37, 1),
      );
    }
    sameOnBoth('softmax', 69967, 'float32', (dev, input, o) =>
      dev.softmax(input(x.subarray(0, 69967)), o, 1891, 37),
    );
    POOLS.forEach(([shape, filter, strides, pad], k) => {
      const px = poolInput(shape, 210 + k);
      const s = poolShape(shape, filter, strides, pad);
      const dy = normal(s[0] * s[6] * s[7] * s[3], 220 + k);
      for (const max of [true, false]) {
        sameOnBoth(`pool ${max} ${k}`, dy.length, 'float32', (dev, input, o) =>
          dev.pool(s, input(px), o, max),
        );
      }
      sameOnBoth(`maxPoolGrad ${k}`, px.length, 'float32', (dev, input, o) =>
        dev.maxPoolGrad(s, input(px), input(dy), o),
      );
      sameOnBoth(`avgPoolGrad ${k}`, px.length, 'float32', (dev, input, o) =>
        dev.avgPoolGrad(s, input(dy), o),
      );
    });
    const variance = normal(37, 230).map((v) => v * v);
    sameOnBoth('batchNorm', 69967, 'float32', (dev, input, o) =>
      dev.batchNorm(
        input(x.subarray(0, 69967)),
        input(b),
        input(variance),
        input(b),
        null,
        1e-3,
        o,
      ),
    );
    sameOnBoth('cast', x.length, 'int32', (dev, input, o) =>
      dev.cast(input(x.map((v) => v * 1e9)), o),
    );
    for (const op of [0, 1]) {
      sameOnBoth(`argReduce ${op}`, 1891, 'int32', (dev, input, o) =>
        dev.argReduce(op, input(ties(69967, 231)), o, 1891, 37, 1),
      );
    }
    for (let op = 0; op <= 5; op++) {
      sameOnBoth(`compare ${op}`, 69967, 'bool', (dev, input, o) =>
        dev.compare(op, [1891, 37], input(x), [37, 1], input(b), [0, 1], o),
      );
    }
  },
  { hostOnly: true, skip: hostSkip },
);
