/**
 * The CUDA device's reductions with few outputs and a long axis (bias gradients):
 * native/cuda/device_elementwise.inc cuts such an axis into parts of a length fixed by the shape
 * and folds the parts in order, so a result must be the same bits on 1 and 2 threads of the host
 * build anneal_cpu.node (on anneal_cuda.node, where a GPU answers, two runs: it has no threads to
 * set); Sum and Mean within a float's rounding of a double-precision sum computed here; Max, Min,
 * ArgMax and ArgMin tfjs-backend-cpu's exactly (the sequential loop's values and positions); NaN
 * and ±Infinity by tfjs's rules. The host build is skipped, with the reason, where it is not
 * built (a failure under ANNEAL_REQUIRE_HOST=1, as CI runs), the GPU's where no GPU answers (a
 * failure under ANNEAL_REQUIRE_CUDA=1).
 */
import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { assertSameBits, ordinary } from '../kernels/helpers.js';
import { addon, each, hostBuild } from './device-targets.js';

/** The thread counts a run compares: 1 and 2 on the host build; the GPU has none to set. */
const threadPair = (): [number, number] => (addon() === hostBuild.addon() ? [1, 2] : [1, 1]);

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

/** anneal_device.h's anneal_reduce ops. */
const OPS = [
  ['Sum', 0],
  ['Mean', 1],
  ['Max', 2],
  ['Min', 3],
] as const;

/**
 * Each shape has fewer than 64K outputs and an axis longer than 1024 values, so the device folds
 * it in parts: 49 parts of 1024 (the bias gradient of a [64, 28, 28, 64] activation), 13 with a
 * ragged last one, and 1221 of 2048 with a ragged last one.
 */
const SHAPES: [number, number, number][] = [
  [1, 50176, 64],
  [5, 12345, 3],
  [2, 2500003, 1],
];

each('Sum/Mean/Max/Min of few outputs: same bits on 1 and 2 threads, a double sum', () => {
  const { DeviceVector, upload, download, device } = addon();
  const [first, second] = threadPair();
  SHAPES.forEach(([outer, reduce, inner], k) => {
    const shape = `[${outer}, ${reduce}, ${inner}]`;
    const outputs = outer * inner;
    const x = ordinary(outer * reduce * inner, 400 + k);
    const at = (o: number, r: number, c: number) => (o * reduce + r) * inner + c;
    // Where a fold of parts could go wrong: a NaN in the last part; +Infinity and -Infinity in
    // different parts (Sum NaN, Max +Infinity, Min -Infinity); +Infinity alone; a large value
    // beside which a float sum would lose the others.
    x[at(0, reduce - 2, 0)] = NaN;
    if (outputs > 3) {
      x[at(0, 2000, 1)] = Infinity;
      x[at(0, reduce - 1, 1)] = -Infinity;
      x[at(0, 3000, 2)] = Infinity;
      x[at(0, 1500, 3)] = 1e9;
    }
    // Each output's sum in double, in order, and the sum of its magnitudes (for the bound).
    const sums = new Float64Array(outputs);
    const magnitudes = new Float64Array(outputs);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < reduce; r++) {
        for (let c = 0; c < inner; c++) {
          sums[o * inner + c] += x[at(o, r, c)];
          magnitudes[o * inner + c] += Math.abs(x[at(o, r, c)]);
        }
      }
    }
    const input = new DeviceVector(x.length);
    const y = new DeviceVector(outputs);
    const run = (op: number, threads: number) => {
      assert.equal(device.setThreads(threads), threads);
      upload(y, new Float32Array(outputs).fill(-12345), 0); // a sentinel, never an output
      device.reduce(op, input, y, outer, reduce, inner);
      const got = new Float32Array(outputs);
      download(y, got);
      return got;
    };
    try {
      upload(input, x, 0);
      for (const [name, op] of OPS) {
        const one = run(op, first);
        const two = run(op, second);
        assert.deepEqual(
          new Uint32Array(two.buffer),
          new Uint32Array(one.buffer),
          `${name} ${shape}: ${second} threads vs ${first}, bit for bit`,
        );
        if (op >= 2) {
          // Max and Min keep the sequential loop's bits: tfjs's own kernel's, exactly.
          const f = op === 2 ? tf.max : tf.min;
          const want = tf.tidy(() =>
            f(tf.tensor3d(x, [outer, reduce, inner]), 1).dataSync(),
          ) as Float32Array;
          assertSameBits(one, want, `${name} ${shape} vs tfjs-backend-cpu`);
          continue;
        }
        // Rounded once from a double sum: within half a float's ulp of the exact sum, give or
        // take the two double sums' own errors (each within reduce * 2^-53 * the sum of |x|).
        const scale = op === 1 ? reduce : 1;
        const bad: string[] = [];
        for (let i = 0; i < outputs && bad.length < 5; i++) {
          const want = sums[i] / scale;
          const bound = 2 ** -24 * Math.abs(want) + (2 * reduce * 2 ** -53 * magnitudes[i]) / scale;
          const ok = Number.isNaN(want)
            ? Number.isNaN(one[i])
            : one[i] === want || Math.abs(one[i] - want) <= bound;
          if (!ok) bad.push(`[${i}] ${one[i]} vs ${want} (bound ${bound})`);
        }
        assert.deepEqual(bad, [], `${name} ${shape}: device vs a double sum`);
      }
    } finally {
      device.setThreads(0);
      input.free();
      y.free();
    }
  });
});

each('ArgMax, ArgMin with few outputs: the sequential positions, on 1 and 2 threads', () => {
  const { DeviceVector, upload, download, device } = addon();
  const [first, second] = threadPair();
  // Parts of 1024 in both (the second's last part ragged).
  for (const [outer, reduce, inner] of [
    [1, 50176, 64],
    [5, 12345, 3],
  ]) {
    const outputs = outer * inner;
    const at = (o: number, r: number, c: number) => (o * reduce + r) * inner + c;
    const x = ordinary(outer * reduce * inner, 500 + reduce);
    // Output 0 starts with NaN (its answer is 0); output 1's part 1 starts with NaN, which the
    // sequential loop steps over to the 100 and -100 after it; output 2's best are tied across
    // parts (the first wins); output 3's part 2 is all NaN.
    x[at(0, 0, 0)] = NaN;
    x[at(0, 1024, 1)] = NaN;
    x[at(0, 1025, 1)] = 100;
    x[at(0, 1026, 1)] = -100;
    for (const r of [3000, 9000]) x[at(0, r, 2)] = 50;
    for (const r of [4000, 10000]) x[at(0, r, 2)] = -50;
    for (let r = 2048; r < 3072; r++) x[at(0, r, 3)] = NaN;
    const ints = Int32Array.from(x, (v) => Math.round(v * 1000));
    for (const values of [x, ints]) {
      const dtype = values instanceof Float32Array ? 'float32' : 'int32';
      const shape = `${dtype} [${outer}, ${reduce}, ${inner}]`;
      const input = new DeviceVector(values.length, dtype);
      const y = new DeviceVector(outputs, 'int32');
      const run = (op: number, threads: number) => {
        assert.equal(device.setThreads(threads), threads);
        upload(y, new Int32Array(outputs).fill(-12345), 0); // a sentinel, never an output
        device.argReduce(op, input, y, outer, reduce, inner);
        const got = new Int32Array(outputs);
        download(y, got);
        return got;
      };
      try {
        upload(input, values, 0);
        for (const [name, op, f] of [
          ['ArgMax', 0, tf.argMax],
          ['ArgMin', 1, tf.argMin],
        ] as const) {
          const one = run(op, first);
          assert.deepEqual(run(op, second), one, `${name} ${shape}: ${second} threads vs ${first}`);
          const want = tf.tidy(() =>
            f(tf.tensor3d(values, [outer, reduce, inner], dtype), 1).dataSync(),
          );
          assert.deepEqual(one, want, `${name} ${shape} vs tfjs-backend-cpu`);
        }
      } finally {
        device.setThreads(0);
        input.free();
        y.free();
      }
    }
  }
});
