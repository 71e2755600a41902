import { test } from 'node:test';
import {
  constant,
  cosineAnnealing,
  exponential,
  linear,
  linearToZero,
  multiStep,
  polynomial,
  sequential,
  stepDecay,
  withWarmup,
} from '../../src/schedules/index.js';
import { cosineAt, table, throwsCode } from './helpers.js';

test('constant, step and multistep', () => {
  table(
    constant({ value: 0.3 }),
    [
      [0, 0.3],
      [1000, 0.3],
    ],
    'constant',
  );
  // StepLR(gamma 0.5, step 3): 0.1 for steps 0-2, 0.05 for 3-5, 0.025 from 6.
  table(
    stepDecay({ base: 0.1, stepSize: 3, gamma: 0.5 }),
    [
      [0, 0.1],
      [2, 0.1],
      [3, 0.05],
      [5, 0.05],
      [6, 0.025],
    ],
    'step',
  );
  // Milestones out of order and repeated, as PyTorch allows: 2 once, 5 twice.
  table(
    multiStep({ base: 1, milestones: [5, 2, 5], gamma: 0.1 }),
    [
      [0, 1],
      [1, 1],
      [2, 0.1],
      [4, 0.1],
      [5, 0.001],
      [99, 0.001],
    ],
    'multistep',
  );
});

test('exponential per step, per epoch (staircase) and smooth', () => {
  table(
    exponential({ base: 1, gamma: 0.9 }),
    [
      [0, 1],
      [3, 0.729],
    ],
    'per step',
  );
  table(
    exponential({ base: 2, gamma: 0.5, every: 10 }),
    [
      [0, 2],
      [9, 2],
      [10, 1],
      [25, 0.5],
    ],
    'per 10-step epoch',
  );
  table(exponential({ base: 1, gamma: 0.81, every: 10, smooth: true }), [[5, 0.9]], 'smooth');
});

test('linear, linear decay to zero and polynomial decay', () => {
  table(
    linear({ from: 1, to: 0.1, steps: 9 }),
    [
      [0, 1],
      [3, 0.7],
      [9, 0.1],
      [20, 0.1],
    ],
    'linear',
  );
  table(
    linearToZero({ base: 2, steps: 4 }),
    [
      [0, 2],
      [1, 1.5],
      [2, 1],
      [3, 0.5],
      [4, 0],
      [10, 0],
    ],
    'linear to zero',
  );
  // min + (base - min)(1 - 5/10)^2 = 0.1 + 0.9 * 0.25
  table(
    polynomial({ base: 1, steps: 10, power: 2, min: 0.1 }),
    [
      [0, 1],
      [5, 0.325],
      [10, 0.1],
      [11, 0.1],
    ],
    'poly',
  );
  table(
    polynomial({ base: 1, steps: 4 }),
    [
      [1, 0.75],
      [4, 0],
    ],
    'poly, PyTorch defaults',
  );
});

test('cosine annealing follows the closed form and holds min after tMax', () => {
  const s = cosineAnnealing({ base: 0.1, tMax: 100, min: 0.001 });
  table(
    s,
    [
      [0, 0.1],
      [25, 0.001 + (0.099 * (1 + Math.SQRT1_2)) / 2],
      [50, 0.0505],
      [100, 0.001],
      [150, 0.001],
    ],
    'cosine',
  );
});

test('warmup is a prefix: linear from startFactor * v0 to v0, then the shifted schedule', () => {
  const inner = cosineAnnealing({ base: 1, tMax: 10 });
  const s = withWarmup(inner, 4, 0.2);
  table(
    s,
    [
      [0, 0.2], // startFactor * base
      [2, 0.6], // halfway: 0.2 + 0.8 * 2/4
      [3, 0.8],
      [4, 1], // the wrapped schedule's step 0
      [9, cosineAt(1, 0, 5 / 10)],
      [14, 0], // its tMax
    ],
    'warmup + cosine',
  );
  table(withWarmup(inner, 0), [[3, inner(3)]], 'no warmup');
});

test('sequential runs each schedule from its milestone with its own time', () => {
  const s = sequential([constant({ value: 1 }), linear({ from: 2, to: 0, steps: 4 })], [3]);
  table(
    s,
    [
      [0, 1],
      [2, 1],
      [3, 2],
      [5, 1],
      [7, 0],
    ],
    'sequential',
  );
});

test('factories reject bad arguments naming the field; schedules reject bad steps', () => {
  throwsCode(
    () => stepDecay({ base: 1, stepSize: 0 }),
    'ANNEAL_BAD_SCHEDULE',
    'step',
    'stepSize',
    '0',
  );
  throwsCode(() => cosineAnnealing({ base: 1, tMax: -3 }), 'ANNEAL_BAD_SCHEDULE', 'tMax', '-3');
  throwsCode(() => cosineAnnealing({ base: NaN, tMax: 3 }), 'ANNEAL_BAD_SCHEDULE', 'base', 'NaN');
  throwsCode(
    () => multiStep({ base: 1, milestones: 'x' as unknown as number[] }),
    'ANNEAL_BAD_SCHEDULE',
    'milestones',
  );
  throwsCode(() => exponential({ base: 1, gamma: 0 }), 'ANNEAL_BAD_SCHEDULE', 'gamma');
  throwsCode(
    () => withWarmup(constant({ value: 1 }), 3, 1.5),
    'ANNEAL_BAD_SCHEDULE',
    'warmupStartFactor',
    '1.5',
  );
  throwsCode(
    () => sequential([constant({ value: 1 }), constant({ value: 2 })], [3, 4]),
    'ANNEAL_BAD_SCHEDULE',
    'milestones',
    '1 step counts',
  );
  throwsCode(
    () =>
      sequential([constant({ value: 1 }), constant({ value: 2 }), constant({ value: 3 })], [4, 4]),
    'ANNEAL_BAD_SCHEDULE',
    'milestones[1]',
  );
  const s = constant({ value: 1 });
  throwsCode(() => s(-1), 'ANNEAL_BAD_STEP', '-1');
  throwsCode(() => s(1.5), 'ANNEAL_BAD_STEP', '1.5');
});
