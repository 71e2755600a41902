/**
 * The flatness measures on f(x) = 0.5 x'Ax with A = Q diag(lambda) Q' built here (Q a Householder
 * reflection), where everything has a closed form: the Hessian is A, E f(sigma z) =
 * 0.5 sigma^2 tr(A) with variance 0.5 sigma^4 tr(A^2), the box maximum of a diagonal quadratic
 * is at a corner, and Langevin sampling of exp(-(f + gamma/2 |x|^2) / T) has
 * E f = 0.5 T sum lambda / (lambda + gamma).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  epsilonSharpness,
  functionObjective,
  hessianTopEigenvalue,
  kendallTau,
  localEntropy,
  perturbationSharpness,
  planeBasis,
  replicatedSgd,
  normalizeFilters,
} from '../../src/flatness/index.js';
import { createFlatOps } from '../../src/kernels/index.js';

const LAMBDA = [4, 2, 1.5, 1, 0.5, 0.25];
const N = LAMBDA.length;

/** A = Q diag(lambda) Q', Q = I - 2 u u' / u'u. */
function matrix(lambda: number[]): number[][] {
  const u = lambda.map((_, i) => i + 1 - 2.5);
  const uu = u.reduce((a, v) => a + v * v, 0);
  const q = u.map((ui, i) => u.map((uj, j) => (i === j ? 1 : 0) - (2 * ui * uj) / uu));
  return q.map((_, i) => q.map((_, j) => lambda.reduce((a, l, k) => a + q[i][k] * l * q[j][k], 0)));
}

function quadratic(ops: ReturnType<typeof createFlatOps>, a: number[][]) {
  return functionObjective(ops, a.length, (x) => {
    const grad = new Float32Array(x.length);
    let loss = 0;
    for (let i = 0; i < x.length; i++) {
      let gi = 0;
      for (let j = 0; j < x.length; j++) gi += a[i][j] * x[j];
      grad[i] = gi;
      loss += 0.5 * x[i] * gi;
    }
    return { loss, grad };
  });
}

test('Hessian top eigenvalue by power iteration equals the largest eigenvalue of A', () => {
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix(LAMBDA));
  const x0 = ops.fromArray(Float32Array.from([0.3, -0.2, 0.1, 0, 0.5, -1]));
  const r = hessianTopEigenvalue(obj, x0, { iterations: 60, tol: 1e-7 });
  assert.ok(Math.abs(r.eigenvalue - 4) < 1e-3, `${r.eigenvalue}`);
  assert.ok(r.converged);
  ops.dispose();
});

test('away from a minimum (a negative eigenvalue dominates) the top eigenvalue is still found', () => {
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix([-6, 3, 1, 0.5, -1, 2]));
  const x0 = ops.alloc(N);
  const r = hessianTopEigenvalue(obj, x0, { iterations: 200, tol: 1e-8 });
  assert.ok(Math.abs(r.eigenvalue - 3) < 1e-3, `${r.eigenvalue}`);
  ops.dispose();
});

test('random-perturbation sharpness matches 0.5 sigma^2 tr(A) within 4 standard errors', () => {
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix(LAMBDA));
  const x0 = ops.alloc(N);
  const samples = 3000;
  const sigmas = [0.1, 0.5];
  const trA = LAMBDA.reduce((a, l) => a + l, 0);
  const trA2 = LAMBDA.reduce((a, l) => a + l * l, 0);
  const r = perturbationSharpness(obj, x0, { sigmas, samples, seed: 11 });
  r.forEach((row, i) => {
    const s = sigmas[i];
    const expected = 0.5 * s * s * trA;
    const se = Math.sqrt((0.5 * s ** 4 * trA2) / samples);
    assert.ok(
      Math.abs(row.meanIncrease - expected) < 4 * se,
      `sigma ${s}: ${row.meanIncrease} vs ${expected} (se ${se})`,
    );
  });
  ops.dispose();
});

test('epsilon-sharpness in a box around the minimum of a diagonal quadratic: the corner value', () => {
  const ops = createFlatOps('js');
  const diag = LAMBDA.map((l, i) => LAMBDA.map((_, j) => (i === j ? l : 0)));
  const obj = quadratic(ops, diag);
  const x0 = ops.alloc(N);
  const eps = 0.01; // radius eps (|0| + 1) = eps in every coordinate
  const r = epsilonSharpness(obj, x0, { epsilon: eps, norm: 'box', steps: 10, seed: 3 });
  const corner = 0.5 * eps * eps * LAMBDA.reduce((a, l) => a + l, 0);
  assert.ok(Math.abs(r.increase - corner) < 1e-6 * corner + 1e-9, `${r.increase} vs ${corner}`);
  assert.ok(Math.abs(r.keskar - 100 * corner) < 1e-4 * corner * 100 + 1e-9);
  // In a ball of radius eps, no point beats 0.5 lambda_max eps^2.
  const ball = epsilonSharpness(obj, x0, { epsilon: eps, norm: 'ball', steps: 30, seed: 3 });
  assert.ok(ball.increase <= 0.5 * 4 * eps * eps * (1 + 1e-5));
  // A radius past 1 (1e308 overflowed float32 and gave NaN) is refused with the range.
  for (const epsilon of [1e308, 1.5, 0])
    assert.throws(
      () => epsilonSharpness(obj, x0, { epsilon }),
      /epsilon = .* a radius in \(0, 1\]/,
    );
  assert.ok(ball.increase > 0.5 * 0.9 * 4 * eps * eps, `${ball.increase}`);
  ops.dispose();
});

test('local entropy: Langevin mean loss matches 0.5 T sum lambda/(lambda+gamma) within 10%', () => {
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix(LAMBDA));
  const x0 = ops.alloc(N);
  const gamma = 1;
  const noise = 0.1;
  const T = (noise * noise) / 2;
  const r = localEntropy(obj, x0, {
    gamma,
    noise,
    eta: 0.01,
    steps: 40000,
    burnIn: 1000,
    alpha: 0.01,
    seed: 5,
  });
  const expected = 0.5 * T * LAMBDA.reduce((a, l) => a + l / (l + gamma), 0);
  assert.ok(
    Math.abs(r.lossIncrease - expected) < 0.1 * expected,
    `${r.lossIncrease} vs ${expected}`,
  );
  ops.dispose();
});

test('the 2-D plane basis through three solutions is orthonormal and reproduces them', () => {
  const ops = createFlatOps('js');
  const n = 50;
  const pts = [1, 2, 3].map((k) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(k * i + k * k)),
  );
  const [w1, w2, w3] = pts.map((p) => ops.fromArray(p));
  const basis = planeBasis(ops, w1, w2, w3);
  const u = ops.download(basis.u);
  const v = ops.download(basis.v);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
  assert.ok(Math.abs(dot(u, u) - 1) < 1e-5);
  assert.ok(Math.abs(dot(v, v) - 1) < 1e-5);
  assert.ok(Math.abs(dot(u, v)) < 1e-5);
  // w_k = w1 + a u + b v at the returned coordinates.
  basis.coords.forEach(([a, b], k) => {
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(pts[0][i] + a * u[i] + b * v[i] - pts[k][i]) < 1e-4, `w${k + 1}[${i}]`);
    }
  });
  assert.throws(() => planeBasis(ops, w1, w2, w2), /non-collinear/);
  ops.dispose();
});

test('Replicated-SGD pulls the replicas and their centre into the minimum', () => {
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix(LAMBDA));
  const start = ops.fromArray(Float32Array.from([1, -1, 1, -1, 1, -1]));
  const r = replicatedSgd(obj, start, {
    replicas: 3,
    steps: 300,
    lr: 0.05,
    gamma: 0.1,
    initSigma: 0.5,
  });
  const f = (x: Float32Array) => obj.loss(ops.fromArray(x));
  assert.ok(f(r.centre) < 1e-3 * obj.loss(start), `${f(r.centre)}`);
  assert.ok(r.spread < 1e-3);
  ops.dispose();
});

test('Replicated-SGD with the default scoping stays finite for 5,000 steps (the coupling is capped)', () => {
  // gamma 1e-3 growing 1% a step passes 2 (1 + momentum) / lr = 76 near step 1,100 and reaches
  // 4e18 by step 5,000: uncapped, the replicas' distance to the centre oscillates and diverges.
  const ops = createFlatOps('js');
  const obj = quadratic(ops, matrix(LAMBDA));
  const start = ops.fromArray(Float32Array.from([1, -1, 1, -1, 1, -1]));
  const r = replicatedSgd(obj, start, { replicas: 3, steps: 5000, lr: 0.05, initSigma: 0.5 });
  const f = (x: Float32Array) => obj.loss(ops.fromArray(x));
  assert.ok(Number.isFinite(r.spread) && r.spread < 1e-6, `spread ${r.spread}`);
  assert.ok(f(r.centre) < 1e-3 * obj.loss(start), `${f(r.centre)}`);
  ops.dispose();
});

test('Kendall tau on hand examples', () => {
  // Pairs of [1..5] vs [3,1,2,5,4]: 7 concordant, 3 discordant -> 0.4.
  assert.ok(Math.abs(kendallTau([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) - 0.4) < 1e-12);
  // One tie in x: 2 concordant of 3 pairs, tau-b = 2 / sqrt(2 * 3).
  assert.ok(Math.abs(kendallTau([1, 1, 2], [1, 2, 3]) - 2 / Math.sqrt(6)) < 1e-12);
  assert.equal(kendallTau([1, 2, 3], [3, 2, 1]), -1);
});

test('filter-wise normalisation: each filter (last axis) scaled to the weights filter norm, biases zeroed', () => {
  // A [2, 2] kernel: filters are columns {0, 2} and {1, 3}; then a bias of 2.
  const x = Float32Array.from([3, 0, 4, 2, 1, 1]);
  const d = Float32Array.from([1, 1, 0, 1, 5, 5]);
  normalizeFilters(d, x, [
    { offset: 0, length: 4, shape: [2, 2] },
    { offset: 4, length: 2, shape: [2] },
  ]);
  // Column 0: |x| = 5, |d| = 1 -> d * 5; column 1: |x| = 2, |d| = sqrt(2) -> d * sqrt(2).
  const expected = [5, Math.SQRT2, 0, Math.SQRT2, 0, 0];
  d.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${i}: ${v}`));
});
