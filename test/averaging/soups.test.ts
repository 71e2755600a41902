/**
 * Greedy and uniform soups on checkpoints built by hand: a linear classifier on four one-hot
 * samples, whose logits for sample i are row i of the kernel, so every held-out accuracy below
 * is worked out from the rows (see the comments).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  greedySoup,
  readCheckpointWeights,
  uniformSoup,
  withWeights,
} from '../../src/averaging/index.js';
import type { Dataset } from '../../src/data/index.js';
import { evaluateSync } from '../../src/train/evaluate.js';
import { ParamVector } from '../../src/engine/param-vector.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { saveCheckpoint } from '../../src/train/index.js';
import { useTfCpu } from '../train/helpers.js';

before(useTfCpu);

const e = (i: number, scale = 1) => [0, 1, 2, 3].map((j) => (j === i ? scale : 0));

// Rows = logits of samples 0..3 (label i for sample i).
const A = [e(0, 2), e(1, 2), e(2, 2), e(0, 3)]; // rows 0-2 right, row 3 wrong: 0.75
const B = [e(1), e(1), e(0), e(3, 5)]; // rows 1 and 3 right: 0.5
const C = [e(3, 10), e(3, 10), e(3, 10), e(3, 10)]; // only row 3 right: 0.25
const D = [e(1, 0.1), e(2, 0.1), e(3, 0.1), e(0, 0.1)]; // all wrong: 0
// (A+B)/2 rows: 2e0+e1 | 3e1 | 2e2+e0 | 3e0+5e3 -> all right: 1.0 >= 0.75, B joins.
// (A+B+C)/3: rows 0-2 have 10 on class 3 -> only row 3 right: 0.25 < 1, C is left out.
// (A+B+D)/3: 2e0+1.1e1 | 3e1+0.1e2 | 2e2+e0+0.1e3 | 3.1e0+5e3 -> 1.0 >= 1.0, D joins.
// Uniform (A+B+C+D)/4: rows 0-2 are won by class 3 (10 > 2.1, 3, 2.1): 0.25.

const HELD_OUT: Dataset = {
  name: 'one-hot',
  images: Float32Array.from([...e(0), ...e(1), ...e(2), ...e(3)]),
  labels: Int32Array.from([0, 1, 2, 3]),
  shape: [2, 2, 1],
  numClasses: 4,
  length: 4,
};

function linearModel(units = 4): tfl.LayersModel {
  const input = tfl.input({ shape: [2, 2, 1] });
  const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function writeCheckpoint(dir: string, name: string, rows: number[][]): string {
  const path = join(dir, `${name}.ck`);
  const units = rows[0].length;
  saveCheckpoint(path, {
    tensors: [
      { name: 'param:dense/kernel', shape: [4, units], data: Float32Array.from(rows.flat()) },
      { name: 'param:dense/bias', shape: [units], data: new Float32Array(units) },
    ],
    meta: {},
  });
  return path;
}

test('the greedy soup keeps exactly the models that do not lower held-out accuracy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-soup-'));
  const sets = [
    writeCheckpoint(dir, 'd', D),
    writeCheckpoint(dir, 'b', B),
    writeCheckpoint(dir, 'a', A),
    writeCheckpoint(dir, 'c', C),
  ].map(readCheckpointWeights);
  const ops = createFlatOps('js');
  const model = linearModel();
  const pv = ParamVector.create(model, ops);
  const accuracy = (params: Float32Array) =>
    withWeights(model, pv, params, () => evaluateSync(model, HELD_OUT).accuracy);
  const result = greedySoup(ops, sets, accuracy);
  assert.deepEqual(result.scores, [0, 0.5, 0.75, 0.25]);
  assert.deepEqual(result.order, [2, 1, 3, 0]); // a, b, c, d
  assert.deepEqual(result.members, [2, 1, 0]); // a, b, d
  assert.deepEqual(
    result.trace.map((t) => t.added),
    [true, true, false, true],
  );
  // What each candidate scored when tried (from the worked rows above), and the soup after it:
  // C's 0.25 is kept in the trace although the soup stays at 1.
  assert.deepEqual(
    result.trace.map((t) => [t.tried, t.score]),
    [
      [0.75, 0.75],
      [1, 1],
      [0.25, 1],
      [1, 1],
    ],
  );
  assert.equal(result.score, 1);
  // The soup is the mean of A, B and D.
  const kernel = result.soup.subarray(0, 16);
  const flatA = A.flat();
  const flatB = B.flat();
  const flatD = D.flat();
  for (let k = 0; k < 16; k++) {
    assert.ok(Math.abs(kernel[k] - (flatA[k] + flatB[k] + flatD[k]) / 3) < 1e-6);
  }
  assert.equal(accuracy(uniformSoup(ops, sets)), 0.25);
  pv.dispose();
  model.dispose();
  ops.dispose();
});

test('checkpoints of another architecture are refused, naming the first differing segment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-soup-'));
  const ok = readCheckpointWeights(writeCheckpoint(dir, 'a', A));
  const wide = readCheckpointWeights(
    writeCheckpoint(
      dir,
      'wide',
      A.map((r) => [...r, 0]),
    ),
  );
  const ops = createFlatOps('js');
  assert.throws(
    () => uniformSoup(ops, [ok, wide]),
    (err: Error & { code?: string }) =>
      err.code === 'ANNEAL_ARCHITECTURE_MISMATCH' &&
      err.message.includes("weight segment 0 is 'dense/kernel' [4, 5]") &&
      err.message.includes("'dense/kernel' [4, 4]") &&
      err.message.includes('wide.ck'),
  );
  ops.dispose();
});
