import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { MultiHeadSelfAttention, PositionEmbedding } from '../../src/models/index.js';
import { maxOf } from '../../src/stats.js';

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

type Matrix = number[][];

const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const addBias = (a: Matrix, bias: number[]): Matrix =>
  a.map((row) => row.map((v, j) => v + bias[j]));
const columns = (a: Matrix, from: number, to: number): Matrix =>
  a.map((row) => row.slice(from, to));
const softmaxRow = (row: number[]) => {
  const m = maxOf(row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
};

/**
 * Textbook multi-head self-attention for one sample (Vaswani et al. 2017, eq. 1 and section
 * 3.2.2): q, k, v are the three dim-wide column blocks of x Wqkv + b; head h owns columns
 * [h*dh, (h+1)*dh) of each; heads are concatenated in order and projected by Wo.
 */
function attentionReference(
  x: Matrix,
  heads: number,
  wqkv: Matrix,
  bqkv: number[],
  wo: Matrix,
  bo: number[],
) {
  const dim = x[0].length;
  const dh = dim / heads;
  const qkv = addBias(matmul(x, wqkv), bqkv);
  const merged: Matrix = x.map(() => []);
  for (let h = 0; h < heads; h++) {
    const q = columns(qkv, h * dh, (h + 1) * dh);
    const k = columns(qkv, dim + h * dh, dim + (h + 1) * dh);
    const v = columns(qkv, 2 * dim + h * dh, 2 * dim + (h + 1) * dh);
    const scores = q.map((qi) =>
      k.map((kj) => qi.reduce((s, a, t) => s + a * kj[t], 0) / Math.sqrt(dh)),
    );
    const context = matmul(scores.map(softmaxRow), v);
    context.forEach((row, i) => merged[i].push(...row));
  }
  return addBias(matmul(merged, wo), bo);
}

test('MultiHeadSelfAttention equals the textbook formula, per sample', () => {
  const [batch, tokens, dim, heads] = [2, 3, 4, 2];
  const layer = new MultiHeadSelfAttention({ numHeads: heads, seed: 5 });
  const x = tf.randomNormal([batch, tokens, dim], 0, 1, 'float32', 1);
  layer.apply(x); // builds the weights
  // Non-zero biases, so the bias paths are checked too.
  const [wqkv, , wo] = layer.getWeights();
  layer.setWeights([
    wqkv,
    tf.randomNormal([3 * dim], 0, 1, 'float32', 2),
    wo,
    tf.randomNormal([dim], 0, 1, 'float32', 3),
  ]);
  const [w1, b1, w2, b2] = layer.getWeights().map((w) => w.arraySync());
  const out = (layer.apply(x) as tf.Tensor3D).arraySync();
  const xs = (x as tf.Tensor3D).arraySync();
  for (let n = 0; n < batch; n++) {
    const expected = attentionReference(
      xs[n],
      heads,
      w1 as Matrix,
      b1 as number[],
      w2 as Matrix,
      b2 as number[],
    );
    expected.forEach((row, i) =>
      row.forEach((v, j) =>
        assert.ok(Math.abs(out[n][i][j] - v) < 1e-4, `sample ${n} token ${i} col ${j}`),
      ),
    );
  }
  assert.deepEqual(
    layer.getWeights().map((w) => w.shape),
    [[dim, 3 * dim], [3 * dim], [dim, dim], [dim]],
  );
});

test('PositionEmbedding adds the same learned [tokens, dim] table to every sample', () => {
  const layer = new PositionEmbedding({ seed: 1 });
  const x = tf.randomNormal([3, 5, 4], 0, 1, 'float32', 4);
  const out = (layer.apply(x) as tf.Tensor3D).arraySync();
  const table = layer.getWeights()[0].arraySync() as Matrix;
  const xs = (x as tf.Tensor3D).arraySync();
  assert.deepEqual(layer.getWeights()[0].shape, [5, 4]);
  // Truncated normal with stddev 0.02: every value within two standard deviations.
  assert.ok(table.flat().every((v) => Math.abs(v) <= 0.04) && table.flat().some((v) => v !== 0));
  xs.forEach((sample, n) =>
    sample.forEach((row, i) =>
      row.forEach((v, j) => assert.ok(Math.abs(out[n][i][j] - (v + table[i][j])) < 1e-6)),
    ),
  );
});
