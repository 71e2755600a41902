/**
 * Mode connectivity on a ring of minima f(x, y) = (x^2 + y^2 - 1)^2: the straight line between
 * two points of the ring crosses a barrier (worked out below), a trained quadratic Bezier curve
 * goes around it; and a model objective's loss agrees with the Trainer's evaluation.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  evaluateBezier,
  functionObjective,
  lineSlice,
  modelObjective,
  randomSlice,
  trainBezierCurve,
} from '../../src/flatness/index.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { evaluate } from '../../src/train/index.js';
import { tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { maxOf } from '../../src/stats.js';

before(useTfCpu);

const ring = (ops: ReturnType<typeof createFlatOps>) =>
  functionObjective(ops, 2, ([x, y]) => {
    const r = x * x + y * y - 1;
    return { loss: r * r, grad: Float32Array.from([4 * r * x, 4 * r * y]) };
  });

test('a trained Bezier curve between two minima avoids the straight line barrier', () => {
  const ops = createFlatOps('js');
  const obj = ring(ops);
  const a = ops.fromArray(Float32Array.from([-1, 0]));
  const b = ops.fromArray(Float32Array.from([0.6, 0.8]));
  const line = lineSlice(obj, a, b, { points: 11 });
  // The line's midpoint (-0.2, 0.4) has r = 0.2 - 1: f = 0.64.
  assert.ok(Math.abs(line.losses[5] - 0.64) < 1e-6);
  assert.ok(line.losses[0] < 1e-12 && line.losses[10] < 1e-12);
  const { bend, losses } = trainBezierCurve(obj, a, b, { steps: 600, lr: 0.05, seed: 1 });
  assert.equal(losses.length, 600);
  const curve = evaluateBezier(obj, a, bend, b, 21);
  assert.equal(curve.alphas.length, 21);
  assert.ok(curve.losses[0] < 1e-12 && curve.losses[20] < 1e-12); // ends are the solutions
  const barrier = maxOf(curve.losses);
  assert.ok(barrier < 0.1 * 0.64, `curve barrier ${barrier}`);
  ops.dispose();
});

test('a model objective: loss equals train/evaluate, and dispose puts the weights back', async () => {
  const ops = createFlatOps('js');
  const model = tinyMlp([8], 9);
  const data = tinyEvalData(60);
  const before = model.getWeights().map((w) => [...w.dataSync()]);
  const expected = await evaluate(model, data);
  const obj = modelObjective(model, data, ops, { batchSize: 25 });
  const r = obj.evaluate(obj.initial);
  assert.ok(Math.abs(r.loss - expected.loss) < 1e-5);
  assert.equal(r.accuracy, expected.accuracy);
  // Gradient: its directional derivative matches a central difference of the loss.
  const g = ops.alloc(obj.length);
  obj.gradient(obj.initial, g);
  const d = ops.alloc(obj.length);
  ops.random(d, { seed: 1, stream: 0, distribution: 'gaussian' });
  ops.scale(d, 1 / Math.sqrt(ops.sumSquares(d)));
  const x = ops.alloc(obj.length);
  const h = 1e-3;
  ops.copy(x, obj.initial);
  ops.axpy(x, h, d);
  const up = obj.loss(x);
  ops.copy(x, obj.initial);
  ops.axpy(x, -h, d);
  const down = obj.loss(x);
  const numeric = (up - down) / (2 * h);
  const analytic = ops.dot(g, d);
  assert.ok(
    Math.abs(numeric - analytic) < 2e-2 * Math.abs(analytic) + 1e-4,
    `${numeric} vs ${analytic}`,
  );
  const slice = randomSlice(obj, obj.initial, { points: 5, seed: 2 });
  assert.equal(slice.losses.length, 5);
  assert.ok(Math.abs(slice.losses[2] - expected.loss) < 1e-5); // a = 0 is the solution
  for (const v of [g, d, x]) ops.free(v);
  obj.dispose();
  assert.deepEqual(
    model.getWeights().map((w) => [...w.dataSync()]),
    before,
  );
  model.dispose();
  ops.dispose();
});
