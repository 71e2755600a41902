/**
 * The step gate on every FlatOps backend present: gateNonFinite records the verdicts worked out
 * here by hand, and a gated Adam or SGD step does nothing on a hit and otherwise runs as the step
 * the host counted less its unsettled skips (against the ungated step at that count and against
 * values derived here).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GATE_LENGTH, type FlatOps, type FlatVector } from '../../src/kernels/index.js';
import {
  assertClose,
  assertKernelError,
  assertSameBits,
  backendsUnderTest,
  oracle,
  ordinary,
  run,
} from './helpers.js';

const ADAM = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true };

for (const backend of backendsUnderTest()) {
  describe(`step gate on ${backend.name}`, { skip: backend.skip }, () => {
    let ops: FlatOps;
    before(() => {
      ops = backend.create();
    });
    after(() => ops.dispose());

    const gateOf = (values: number[]): FlatVector => ops.fromArray(Float32Array.from(values));
    const read = (gate: FlatVector) => Array.from(ops.download(gate));

    test('gateNonFinite: verdict, hits, first and latest step, the checked value; the skip count untouched', () => {
      const n = 1_000_001; // several blocks of a GPU reduction
      const x = ordinary(n, 7).map((v) => (Number.isFinite(v) ? v : 0));
      const X = ops.fromArray(x);
      const gate = gateOf([0, 0, 0, 0, 2.5, 9]);
      ops.gateNonFinite(gate, X, 6);
      assert.deepEqual(read(gate), [0, 0, 0, 0, 2.5, 9], 'finite: no hit, nothing counted');
      x[n - 1] = NaN; // the last element: the tail of the last block
      ops.upload(X, x);
      ops.gateNonFinite(gate, X, 7);
      assert.deepEqual(read(gate), [1, 1, 8, 8, 2.5, 9], 'NaN at step 7: first = latest = 7 + 1');
      x[n - 1] = 1;
      ops.upload(X, x);
      ops.gateNonFinite(gate, X, 8);
      assert.deepEqual(read(gate), [0, 1, 8, 8, 2.5, 9], 'a finite step clears only the verdict');
      ops.upload(gate, Float32Array.of(-Infinity), 4);
      ops.gateNonFinite(gate, X, 11);
      assert.deepEqual(read(gate), [1, 2, 8, 12, -Infinity, 9], 'a non-finite loss alone is a hit');
      const empty = ops.alloc(0);
      ops.upload(gate, Float32Array.of(0), 4);
      ops.gateNonFinite(gate, empty, 12);
      assert.deepEqual(read(gate), [0, 2, 8, 12, 0, 9], 'no elements: the checked value decides');
      ops.free(empty);
      x[0] = Infinity;
      ops.upload(X, x);
      ops.gateNonFinite(gate, X, 2 ** 24 - 1);
      assert.deepEqual(read(gate), [1, 3, 8, 2 ** 24, 0, 9], 'the largest step stored exactly');
      ops.free(X);
      ops.free(gate);
    });

    test('adam behind a gate: a hit leaves every vector; unsettled skips recount the step', () => {
      const n = 37; // not a multiple of 4: the scalar tail too
      const inputs = [ordinary(n, 1), ordinary(n, 2), ordinary(n, 3), ordinary(n, 4)];
      inputs[3] = inputs[3].map((v) => v * v); // v >= 0
      /** Adam at `step` behind `gate` (settled 1); returns the gate after the step. */
      const adam = (o: FlatOps, [P, G, M, V]: FlatVector[], step: number, gate?: number[]) => {
        const g = gate && o.fromArray(Float32Array.from(gate));
        o.adam(P, G, M, V, null, { ...ADAM, step }, { gate: g ? { vector: g, settled: 1 } : null });
        const after = g && Array.from(o.download(g));
        if (g) o.free(g);
        return after;
      };
      const skipped = run(ops, inputs, (o, vs) => adam(o, vs, 5, [1, 3, 1, 4, 0, 2]));
      skipped.vectors.forEach((v, i) => assertSameBits(v, inputs[i], `vector ${i} unchanged`));
      assert.deepEqual(skipped.result, [1, 3, 1, 4, 0, 3], 'the skip counted in gate[5], once');
      // gate[5] = 3, settled 1: two skips the host's count 5 still includes, so step 3 (the
      // hits in gate[1] are the guard's: they do not enter).
      const recounted = run(ops, inputs, (o, vs) => adam(o, vs, 5, [0, 7, 1, 4, 0, 3]));
      assert.deepEqual(recounted.result, [0, 7, 1, 4, 0, 3], 'a step that runs counts nothing');
      const atThree = run(ops, inputs, (o, vs) => adam(o, vs, 3));
      const atFive = run(ops, inputs, (o, vs) => adam(o, vs, 5));
      recounted.vectors.forEach((v, i) => assertClose(v, atThree.vectors[i], 1e-6, `vector ${i}`));
      assert.notDeepEqual(recounted.vectors[0], atFive.vectors[0], 'step 5 would differ');
      // By hand, element 0 at step 3: p (1 - lr wd) - lr m / (1 - b1^3) / (sqrt(v / (1 - b2^3)) + eps).
      const [p, g, m0, v0] = inputs.map((x) => x[0]);
      const m = ADAM.beta1 * m0 + (1 - ADAM.beta1) * g;
      const v = ADAM.beta2 * v0 + (1 - ADAM.beta2) * g * g;
      const want =
        p * (1 - ADAM.lr * ADAM.weightDecay) -
        (ADAM.lr * m) / (1 - ADAM.beta1 ** 3) / (Math.sqrt(v / (1 - ADAM.beta2 ** 3)) + ADAM.eps);
      assertClose(recounted.vectors[0].subarray(0, 1), Float32Array.of(want), 1e-5, 'by hand');
      // No unsettled skip: exactly the ungated step.
      const settled = run(ops, inputs, (o, vs) => adam(o, vs, 5, [0, 9, 1, 1, 0, 1]));
      settled.vectors.forEach((x, i) => assertSameBits(x, atFive.vectors[i], `settled ${i}`));
    });

    test('sgd behind a gate: a hit leaves the vectors; a step recounted to 1 starts the buffer', () => {
      // momentum 0.9, dampening 0.5, lr 0.1, p 1, g 2 and -2, buffer 1:
      //   first step: buf = g = 2, -2;      p = 1 - 0.1 * 2 = 0.8, 1.2
      //   later step: buf = 0.9 + 0.5 g = 1.9, -0.1; p = 0.81, 1.01
      const inputs = [Float32Array.of(1, 1), Float32Array.of(2, -2), Float32Array.of(1, 1)];
      const h = {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.5,
        nesterov: false,
        weightDecay: 0,
        decoupled: false,
      };
      const sgd = (gate: number[] | null, step: number) =>
        run(ops, inputs, (o, [P, G, B]) => {
          const g = gate && o.fromArray(Float32Array.from(gate));
          o.sgd(P, G, B, { ...h, step }, { gate: g ? { vector: g, settled: 0 } : null });
          if (g) o.free(g);
        }).vectors;
      sgd([1, 1, 1, 1, 0, 0], 1).forEach((v, i) => assertSameBits(v, inputs[i], `vector ${i}`));
      // One skip unsettled: the host's step 2 is the first.
      const [p, , buf] = sgd([0, 1, 1, 1, 0, 1], 2);
      assertClose(buf, Float32Array.of(2, -2), 1e-7, 'first step: buf = d');
      assertClose(p, Float32Array.of(0.8, 1.2), 1e-6, 'first step');
      const [p2, , buf2] = sgd(null, 2);
      assertClose(
        buf2,
        Float32Array.of(1.9, -0.1),
        1e-6,
        'later step: momentum buf + (1 - dampening) d',
      );
      assertClose(p2, Float32Array.of(0.81, 1.01), 1e-6, 'later step');
    });

    test('errors: a gate of the wrong length or backend, a step out of range', () => {
      const X = ops.alloc(4);
      const short = ops.alloc(GATE_LENGTH - 1);
      const [P, G, M, V] = [0, 1, 2, 3].map(() => ops.alloc(4));
      const h = { ...ADAM, step: 1 };
      assertKernelError(() => ops.gateNonFinite(short, X, 0), 'ANNEAL_KERNEL_LENGTH', 'short gate');
      assertKernelError(
        () => ops.adam(P, G, M, V, null, h, { gate: { vector: short, settled: 0 } }),
        'ANNEAL_KERNEL_LENGTH',
        'adam: short gate',
      );
      const gate = ops.alloc(GATE_LENGTH);
      for (const step of [-1, 0.5, 2 ** 24]) {
        assertKernelError(
          () => ops.gateNonFinite(gate, X, step),
          'ANNEAL_KERNEL_ARGUMENT',
          `step ${step}`,
        );
      }
      if (ops.name !== 'js') {
        const foreign = oracle.alloc(GATE_LENGTH);
        assertKernelError(
          () => ops.gateNonFinite(foreign, X, 0),
          'ANNEAL_KERNEL_BACKEND',
          'foreign gate',
        );
        assertKernelError(
          () =>
            ops.sgd(
              P,
              G,
              null,
              {
                lr: 1,
                momentum: 0,
                dampening: 0,
                nesterov: false,
                weightDecay: 0,
                decoupled: false,
                step: 1,
              },
              { gate: { vector: foreign, settled: 0 } },
            ),
          'ANNEAL_KERNEL_BACKEND',
          'sgd: foreign gate',
        );
        oracle.free(foreign);
      }
      // A bad call behind a gate that says skip is refused like any other, and counts no skip.
      ops.upload(gate, Float32Array.of(1, 1, 1, 1, 0, 0));
      const sgd = { lr: 1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 };
      assertKernelError(
        () =>
          ops.sgd(
            P,
            G,
            null,
            { ...sgd, decoupled: false, step: 2 },
            { gate: { vector: gate, settled: 0 } },
          ),
        'ANNEAL_KERNEL_ARGUMENT',
        'sgd: momentum without a buffer, behind a gate that skips',
      );
      assertKernelError(
        () => ops.adam(P, G, M, V, short, h, { gate: { vector: gate, settled: 0 } }),
        'ANNEAL_KERNEL_LENGTH',
        'adam: a vMax of another length, behind a gate that skips',
      );
      assert.deepEqual(read(gate), [1, 1, 1, 1, 0, 0], 'no skip counted');
      for (const v of [X, short, gate, P, G, M, V]) ops.free(v);
    });
  });
}
