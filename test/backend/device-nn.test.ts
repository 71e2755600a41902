/**
 * The CUDA device's matrix products and convolutions (native/cuda/device_nn.inc) on
 * anneal_cpu.node, its host build, through the addon's `device` object: inputs uploaded to
 * DeviceVectors, each op run, the result downloaded and compared with tfjs-backend-cpu's kernels
 * (tf.matMul, tf.fused.matMul, tf.conv2d, tf.fused.conv2d, tf.depthwiseConv2d and tf.grads of
 * them) on odd shapes, batch 1, broadcast batches, strides, dilations and every padding; the
 * chunked convolution paths (columns over ANNEAL_CONV_COLUMN_BYTES) against the same reference;
 * and the same bits on 1 and 3 threads. The host build runs the GEMM's column-major signature,
 * so the row-major mapping the GPU build uses is the code tested here; where a GPU answers
 * (ANNEAL_REQUIRE_CUDA=1 makes one required), every test runs on anneal_cuda.node too.
 */
import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-layers registers tfjs-core's gradients, which tf.grads of the convolutions need.
import '@tensorflow/tfjs-layers';
import type { DeviceBuffer, NativeDevice } from '../../src/backend/device.js';
import { nativeActivation } from '../../src/backend/kernels/activation.js';
import { deviceShape } from '../../src/backend/kernels/conv2d.js';
import { addon, each, hostBuild } from './device-targets.js';

type Vector = DeviceBuffer;
type Device = NativeDevice;

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

// ---- running an op on the device -----------------------------------------------------------

/** Vectors made by one `run`, freed after it. */
let made: Vector[] = [];

function upload(t: tf.Tensor): Vector {
  const { DeviceVector, upload } = addon();
  const v = new DeviceVector(t.size);
  made.push(v);
  upload(v, t.dataSync() as Float32Array, 0);
  return v;
}

function empty(size: number): Vector {
  const { DeviceVector } = addon();
  const v = new DeviceVector(size);
  made.push(v);
  return v;
}

/** Runs `f` on the device with the vectors it makes; returns `out`'s values. */
function run(f: (device: Device) => Vector): Float32Array {
  made = [];
  try {
    const out = f(addon().device);
    const values = new Float32Array(out.length);
    addon().download(out, values);
    return values;
  } finally {
    for (const v of made) v.free();
  }
}

/** Every value within 1e-5 of the reference's magnitude (float sums in another order). */
function close(actual: Float32Array, expected: tf.Tensor, what: string): void {
  const want = expected.dataSync();
  assert.equal(actual.length, want.length, `${what}: size`);
  let scale = 1;
  for (const w of want) if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
  want.forEach((w, i) => {
    const got = actual[i];
    if (Number.isNaN(w)) return assert.ok(Number.isNaN(got), `${what}[${i}]: ${got} vs NaN`);
    if (!Number.isFinite(w)) return assert.equal(got, w, `${what}[${i}]`);
    assert.ok(Math.abs(got - w) <= 1e-5 * scale, `${what}[${i}]: ${got} vs ${w} (scale ${scale})`);
  });
}

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
const r4 = (shape: number[], seed: number) => rnd(shape, seed) as tf.Tensor4D;

// ---- matmul -----------------------------------------------------------------------------------

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;
type Activation = (typeof ACTIVATIONS)[number];

interface MatmulCase {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
}

/** a and b as tf.matMul takes them: [batch, m, k] ([batch, k, m] when ta), and so on. */
function matmulInputs(c: MatmulCase, seed: number): [tf.Tensor3D, tf.Tensor3D] {
  const a = rnd(c.ta ? [c.batchA, c.k, c.m] : [c.batchA, c.m, c.k], seed) as tf.Tensor3D;
  const b = rnd(c.tb ? [c.batchB, c.n, c.k] : [c.batchB, c.k, c.n], seed + 1) as tf.Tensor3D;
  return [a, b];
}

function deviceMatmul(
  c: MatmulCase,
  a: tf.Tensor,
  b: tf.Tensor,
  bias: tf.Tensor | null,
  activation: Activation,
  alpha: number,
): Float32Array {
  return run((device) => {
    const out = empty(Math.max(c.batchA, c.batchB) * c.m * c.n);
    device.matmul(
      upload(a),
      upload(b),
      bias ? upload(bias) : null,
      out,
      c.batchA,
      c.batchB,
      c.m,
      c.k,
      c.n,
      c.ta,
      c.tb,
      nativeActivation(activation)!,
      alpha,
    );
    return out;
  });
}

each('matmul: every transpose, broadcast batches, odd shapes, single rows', () => {
  const cases: MatmulCase[] = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      cases.push(
        { batchA: 1, batchB: 1, m: 7, k: 13, n: 5, ta, tb },
        { batchA: 3, batchB: 3, m: 5, k: 9, n: 11, ta, tb },
        { batchA: 1, batchB: 4, m: 6, k: 3, n: 10, ta, tb },
        { batchA: 2, batchB: 1, m: 1, k: 17, n: 1, ta, tb },
        // several of the host GEMM's row strips (8) and column panels (4)
        { batchA: 1, batchB: 1, m: 300, k: 37, n: 19, ta, tb },
        // sums over more than one of its blocks of depth (256), broadcast and batched
        { batchA: 2, batchB: 1, m: 9, k: 600, n: 13, ta, tb },
        // many small products, which the host GEMM's threads take whole
        { batchA: 40, batchB: 40, m: 16, k: 24, n: 17, ta, tb },
      );
    }
  }
  tf.tidy(() => {
    cases.forEach((c, i) => {
      const [a, b] = matmulInputs(c, 10 + i);
      close(
        deviceMatmul(c, a, b, null, 'linear', 0),
        tf.matMul(a, b, c.ta, c.tb),
        JSON.stringify(c),
      );
    });
  });
});

each('matmul with a bias and each fused activation, as tf.fused.matMul', () => {
  const shapes: MatmulCase[] = [
    { batchA: 2, batchB: 2, m: 5, k: 7, n: 6, ta: false, tb: true },
    { batchA: 1, batchB: 3, m: 1, k: 4, n: 9, ta: true, tb: false },
  ];
  tf.tidy(() => {
    for (const activation of ACTIVATIONS) {
      shapes.forEach((c, i) => {
        const [a, b] = matmulInputs(c, 40 + i);
        const bias = rnd([c.n], 50 + i);
        const alpha = 0.15;
        const want = tf.fused.matMul({
          a,
          b,
          transposeA: c.ta,
          transposeB: c.tb,
          bias,
          activation,
          leakyreluAlpha: alpha,
        });
        close(deviceMatmul(c, a, b, bias, activation, alpha), want, `${activation} ${i}`);
      });
      // NaN and infinities through each activation: a [5, 7] x [7, 6]^T with a NaN in row 1
      // of a, and one +-Infinity in b's rows 2 and 4 (output columns 2 and 4 are infinite).
      const special = shapes[0];
      const [sa, sb] = matmulInputs(special, 70);
      const k = special.k;
      const a2 = tf.tensor(
        sa.dataSync().map((v, i) => (i === 1 * k + 3 ? NaN : v)),
        sa.shape,
      ) as tf.Tensor3D;
      const b2 = tf.tensor(
        sb.dataSync().map((v, i) => (i === 2 * k + 1 ? Infinity : i === 4 * k + 6 ? -Infinity : v)),
        sb.shape,
      ) as tf.Tensor3D;
      const wantSpecial = tf.fused.matMul({
        a: a2,
        b: b2,
        transposeA: special.ta,
        transposeB: special.tb,
        activation,
        leakyreluAlpha: 0.15,
      });
      const values = wantSpecial.dataSync();
      // (each activation keeps the NaNs; the linear one keeps the infinities too)
      assert.ok(values.some((v) => Number.isNaN(v)));
      if (activation === 'linear') assert.ok(values.some((v) => Math.abs(v) === Infinity));
      close(
        deviceMatmul(special, a2, b2, null, activation, 0.15),
        wantSpecial,
        `${activation} NaN/Inf`,
      );
      // An activation without a bias.
      const c = shapes[0];
      const [a, b] = matmulInputs(c, 60);
      const want = tf.fused.matMul({ a, b, transposeB: true, activation, leakyreluAlpha: 0.3 });
      close(deviceMatmul(c, a, b, null, activation, 0.3), want, `${activation} without bias`);
    }
  });
});

each('matmul refuses what is not a product', () => {
  const { device } = addon();
  const call = (batchA: number, batchB: number, m: number, activation: number) =>
    run(() => {
      const c = empty(Math.max(batchA, batchB) * m * 2);
      device.matmul(
        empty(batchA * m * 3),
        empty(batchB * 6),
        null,
        c,
        batchA,
        batchB,
        m,
        3,
        2,
        false,
        false,
        activation,
        0,
      );
      return c;
    });
  const invalid = (e: Error & { code?: string }) => e.code === 'ANNEAL_DEVICE_INVALID';
  assert.throws(
    () => call(2, 3, 2, 0),
    (e: Error & { code?: string }) => {
      assert.match(e.message, /batch sizes must be equal, or one of them 1/);
      return invalid(e);
    },
  );
  assert.throws(() => call(1, 1, 2, 9), /unknown activation/);
  assert.throws(() => call(1, 1, 0, 0), /every size must be >= 1/);
});

// ---- convolutions -----------------------------------------------------------------------------

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

/** The device's 17-number shape, from tfjs's own conv info (its padding included). */
function convShape(c: ConvCase, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x,
    c.w,
    c.strides,
    c.dilations,
    c.pad,
    undefined,
    depthwise,
  );
  return [...deviceShape(info)!];
}

const CONVS: ConvCase[] = [
  { x: [2, 9, 11, 3], w: [3, 3, 3, 5], strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [1, 10, 7, 4], w: [3, 2, 4, 3], strides: [2, 3], dilations: [1, 1], pad: 'valid' },
  { x: [3, 8, 9, 2], w: [3, 3, 2, 4], strides: [1, 1], dilations: [2, 3], pad: 'same' },
  {
    x: [2, 7, 8, 3],
    w: [2, 3, 3, 2],
    strides: [2, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [1, 5, 6, 5], w: [5, 4, 5, 3], strides: [2, 2], dilations: [1, 1], pad: 'same' },
  // 1x1 at stride 1: the GEMM reads x as its columns (no im2col); and at stride 2 it does not.
  { x: [2, 5, 7, 6], w: [1, 1, 6, 4], strides: [1, 1], dilations: [1, 1], pad: 'valid' },
  { x: [2, 5, 7, 6], w: [1, 1, 6, 4], strides: [2, 2], dilations: [1, 1], pad: 'same' },
];

const conv = (c: ConvCase) => (x: tf.Tensor, w: tf.Tensor) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations);

/**
 * dx and dw of sum(conv(x, w) * dy) by a loop in scatter form (each output position adds its
 * products to the inputs and filter values it read), the reference where tfjs has no gradient
 * (dilations > 1); elsewhere tf.grads, which the loop must then match too.
 */
function scatterGrads(
  c: ConvCase,
  depthwise: boolean,
  x: tf.Tensor,
  w: tf.Tensor,
  dy: tf.Tensor,
): [tf.Tensor, tf.Tensor] {
  const [batch, h, wd, cin, kh, kw, cout, oh, ow, sh, sw, dh, dw, top, left] = convShape(
    c,
    depthwise,
  );
  const xs = x.dataSync(),
    ws = w.dataSync(),
    dys = dy.dataSync();
  const dx = new Float64Array(xs.length),
    dwv = new Float64Array(ws.length);
  const mult = cout / cin;
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let p = 0; p < kh; p++)
          for (let q = 0; q < kw; q++) {
            const ih = i * sh - top + p * dh,
              iw = j * sw - left + q * dw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            for (let o = 0; o < cout; o++) {
              // a depthwise output channel reads one input channel; a conv's, every one
              const channels = depthwise ? [Math.floor(o / mult)] : [...Array(cin).keys()];
              const g = dys[((b * oh + i) * ow + j) * cout + o];
              for (const ch of channels) {
                const xi = ((b * h + ih) * wd + iw) * cin + ch;
                const wi = depthwise
                  ? (p * kw + q) * cout + o
                  : ((p * kw + q) * cin + ch) * cout + o;
                dx[xi] += ws[wi] * g;
                dwv[wi] += xs[xi] * g;
              }
            }
          }
  return [tf.tensor(Float32Array.from(dx), x.shape), tf.tensor(Float32Array.from(dwv), w.shape)];
}

/** dx and dw of sum(f(x, w) * dy): tf.grads where tfjs has them, checked against the loop. */
function grads(
  c: ConvCase,
  depthwise: boolean,
  f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  w: tf.Tensor,
  dy: tf.Tensor,
): [tf.Tensor, tf.Tensor] {
  const loop = scatterGrads(c, depthwise, x, w, dy);
  if (c.dilations[0] > 1 || c.dilations[1] > 1) return loop;
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), dy)))([x, w]);
  close(loop[0].dataSync() as Float32Array, dx, 'the loop reference dx');
  close(loop[1].dataSync() as Float32Array, dw, 'the loop reference dw');
  return [dx, dw];
}

function checkConv(c: ConvCase, seed: number, what: string): void {
  tf.tidy(() => {
    const shape = convShape(c, false);
    const x = r4(c.x, seed);
    const w = r4(c.w, seed + 1);
    const y = conv(c)(x, w);
    const dy = rnd(y.shape, seed + 2);
    const [dx, dw] = grads(c, false, conv(c), x, w, dy);
    const forward = run((device) => {
      const out = empty(y.size);
      device.conv2d(shape, upload(x), upload(w), null, out, 0, 0);
      return out;
    });
    close(forward, y, `${what} conv2d`);
    const input = run((device) => {
      const out = empty(x.size);
      device.conv2dBackpropInput(shape, upload(dy), upload(w), out);
      return out;
    });
    close(input, dx, `${what} backprop input`);
    const filter = run((device) => {
      const out = empty(w.size);
      device.conv2dBackpropFilter(shape, upload(x), upload(dy), out);
      return out;
    });
    close(filter, dw, `${what} backprop filter`);
  });
}

each(
  'conv2d and both backprops: strides, dilations, same / valid / explicit pads, 1x1, batch 1',
  () => {
    CONVS.forEach((c, i) => checkConv(c, 100 + 10 * i, JSON.stringify(c)));
  },
);

each('conv2d in chunks of images (columns over ANNEAL_CONV_COLUMN_BYTES)', () => {
  // One image's columns of the first case are 9 * 11 * 27 floats (10.7 kB): 11 kB takes the
  // batch one image at a time, 25 kB two at a time with a last chunk of one.
  const c: ConvCase = {
    x: [3, 9, 11, 3],
    w: [3, 3, 3, 5],
    strides: [1, 1],
    dilations: [1, 1],
    pad: 'same',
  };
  const saved = process.env.ANNEAL_CONV_COLUMN_BYTES;
  try {
    for (const bytes of ['11000', '25000']) {
      process.env.ANNEAL_CONV_COLUMN_BYTES = bytes;
      checkConv(c, 300, `chunks of ${bytes} bytes`);
      checkConv(CONVS[1], 310, `chunks of ${bytes} bytes, ${JSON.stringify(CONVS[1])}`);
    }
  } finally {
    if (saved === undefined) delete process.env.ANNEAL_CONV_COLUMN_BYTES;
    else process.env.ANNEAL_CONV_COLUMN_BYTES = saved;
  }
});

each('conv2d with a bias and each fused activation, as tf.fused.conv2d', () => {
  const c = CONVS[3];
  tf.tidy(() => {
    const shape = convShape(c, false);
    const x = r4(c.x, 200);
    const w = r4(c.w, 201);
    const bias = rnd([c.w[3]], 202);
    for (const activation of ACTIVATIONS) {
      const want = tf.fused.conv2d({
        x,
        filter: w,
        strides: c.strides,
        pad: c.pad,
        dilations: c.dilations,
        bias,
        activation,
        leakyreluAlpha: 0.2,
      });
      const got = run((device) => {
        const out = empty(want.size);
        device.conv2d(
          shape,
          upload(x),
          upload(w),
          upload(bias),
          out,
          nativeActivation(activation)!,
          0.2,
        );
        return out;
      });
      close(got, want, activation);
    }
  });
});

const DEPTHWISE: ConvCase[] = [
  { x: [2, 9, 11, 3], w: [3, 3, 3, 1], strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [1, 8, 7, 4], w: [3, 2, 4, 2], strides: [2, 2], dilations: [1, 1], pad: 'valid' },
  { x: [2, 9, 8, 2], w: [3, 3, 2, 3], strides: [1, 1], dilations: [2, 2], pad: 'valid' },
  {
    x: [3, 7, 6, 2],
    w: [2, 3, 2, 2],
    strides: [1, 2],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [2, 1],
      [0, 2],
      [0, 0],
    ],
  },
  // Enough positions for dw's sums to run in slices (16 filter values: 4096 slices wanted).
  { x: [4, 40, 40, 2], w: [2, 2, 2, 2], strides: [1, 1], dilations: [1, 1], pad: 'same' },
];

each('depthwiseConv2d and both backprops: multipliers, strides, dilations, pads, batch 1', () => {
  DEPTHWISE.forEach((c, i) =>
    tf.tidy(() => {
      const what = JSON.stringify(c);
      const shape = convShape(c, true);
      const f = (x: tf.Tensor, w: tf.Tensor) =>
        tf.depthwiseConv2d(
          x as tf.Tensor4D,
          w as tf.Tensor4D,
          c.strides,
          c.pad,
          'NHWC',
          c.dilations,
        );
      const x = r4(c.x, 400 + 10 * i);
      const w = r4(c.w, 401 + 10 * i);
      const y = f(x, w);
      const dy = rnd(y.shape, 402 + 10 * i);
      const [dx, dw] = grads(c, true, f, x, w, dy);
      const forward = run((device) => {
        const out = empty(y.size);
        device.depthwiseConv2d(shape, upload(x), upload(w), out);
        return out;
      });
      close(forward, y, `${what} forward`);
      const input = run((device) => {
        const out = empty(x.size);
        device.depthwiseConv2dBackpropInput(shape, upload(dy), upload(w), out);
        return out;
      });
      close(input, dx, `${what} backprop input`);
      const filter = run((device) => {
        const out = empty(w.size);
        device.depthwiseConv2dBackpropFilter(shape, upload(x), upload(dy), out);
        return out;
      });
      close(filter, dw, `${what} backprop filter`);
    }),
  );
});

each(
  'the same bits on 1 and 3 threads (the GPU: on two runs): each value summed in a fixed order',
  () => {
    const { device } = addon();
    const c: ConvCase = {
      x: [4, 20, 20, 8],
      w: [3, 3, 8, 16],
      strides: [1, 1],
      dilations: [1, 1],
      pad: 'same',
    };
    const d: ConvCase = {
      x: [4, 20, 20, 8],
      w: [3, 3, 8, 2],
      strides: [1, 1],
      dilations: [1, 1],
      pad: 'same',
    };
    const all = () =>
      tf.tidy(() => {
        const shape = convShape(c, false);
        const dshape = convShape(d, true);
        const x = r4(c.x, 500);
        const w = r4(c.w, 501);
        const dw = r4(d.w, 502);
        const dy = rnd([4, 20, 20, 16], 503);
        const mm = { batchA: 2, batchB: 2, m: 70, k: 90, n: 80, ta: true, tb: true };
        const [a, b] = matmulInputs(mm, 504);
        const small = { batchA: 64, batchB: 1, m: 16, k: 32, n: 16, ta: false, tb: true };
        const [sa, sb] = matmulInputs(small, 505);
        return [
          deviceMatmul(mm, a, b, null, 'linear', 0),
          deviceMatmul(small, sa, sb, null, 'linear', 0),
          run((dev) => {
            const out = empty(4 * 20 * 20 * 16);
            dev.conv2d(shape, upload(x), upload(w), null, out, 0, 0);
            return out;
          }),
          run((dev) => {
            const out = empty(x.size);
            dev.conv2dBackpropInput(shape, upload(dy), upload(w), out);
            return out;
          }),
          run((dev) => {
            const out = empty(w.size);
            dev.conv2dBackpropFilter(shape, upload(x), upload(dy), out);
            return out;
          }),
          run((dev) => {
            const out = empty(dw.size);
            dev.depthwiseConv2dBackpropFilter(dshape, upload(x), upload(dy), out);
            return out;
          }),
        ];
      });
    // The GPU build has no threads to set (setThreads answers 1): it runs twice.
    const threads = device === hostBuild.addon().device ? 3 : 1;
    try {
      assert.equal(device.setThreads(1), 1);
      const one = all();
      assert.equal(device.setThreads(threads), threads);
      const three = all();
      one.forEach((values, i) => assert.deepEqual(three[i], values, `output ${i}`));
    } finally {
      device.setThreads(0);
    }
  },
);
