import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createSchedule,
  cyclicLR,
  oneCycle,
  sgdr,
  withWarmup,
  type Schedule,
} from '../../src/schedules/index.js';
import { Timeline } from '../../src/time/index.js';

const STEPS = 240;
const timeline = new Timeline({ stepsPerEpoch: 12, samplesPerStep: 16, maxDuration: '20ep' });

const specs: object[] = [
  { name: 'constant', value: 0.3 },
  { name: 'step', stepSize: '3ep', gamma: 0.5 },
  { name: 'multistep', milestones: ['5ep', '0.75dur'] },
  { name: 'exponential', gamma: 0.99 },
  { name: 'cosine', warmup: '1ep', warmupStartFactor: 0.1, min: 0.01 },
  { name: 'sgdr', t0: 17, tMult: 1.5, decay: 0.7, cycleLimit: 3, kDecay: 1.5 },
  { name: 'sgdr', t0: 64, tMult: 0.5 },
  {
    name: 'cyclic',
    baseLr: 0.01,
    maxLr: 0.1,
    stepSizeUp: 7,
    stepSizeDown: 11,
    mode: 'triangular2',
  },
  { name: 'cyclic', baseLr: 0.01, maxLr: 0.1, stepSizeUp: 7, mode: 'exp_range', gamma: 0.995 },
  { name: 'onecycle', maxLr: 0.3, threePhase: true, pctStart: 0.2 },
  { name: 'linear', from: 1, to: 0.5, steps: '0.5dur' },
  { name: 'linear_to_zero' },
  { name: 'poly', power: 0.5, min: 0.1 },
  { name: 'swalr', fromLr: 0.1, swaLr: 0.02, annealSteps: '2ep', updateEvery: '1ep' },
  { name: 'multiplicative_cyclic', firstCycle: 9, mult: 1.7, shape: 'cosine', cycleWarmup: 2 },
  { name: 'cyclical', min: 0, max: 1, cycleSteps: 30, phase: 0.3, peakAt: 0.7, shape: 'cosine' },
  { name: 'cyclical_weight_decay', min: 1e-5, max: 1e-3, factor: 3 },
  { name: 'cyclical_temperature' },
  { name: 'cyclical_grad_clip' },
  { name: 'cyclical_batch_size', large: 200, small: 20 },
  {
    name: 'sequential',
    schedules: [{ name: 'cosine' }, { name: 'swalr', swaLr: 0.05, annealSteps: 10 }],
    milestones: ['0.75dur'],
  },
];

/** A fixed shuffle (a small LCG), so that the test is the same every run. */
function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let state = 12345;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function assertPure(schedule: Schedule, what: string) {
  const forward = Array.from({ length: STEPS }, (_, t) => schedule(t));
  const again = Array.from({ length: STEPS }, (_, t) => schedule(t));
  const outOfOrder = new Array<number>(STEPS);
  for (const t of shuffled(STEPS)) outOfOrder[t] = schedule(t);
  const backwards = new Array<number>(STEPS);
  for (let t = STEPS - 1; t >= 0; t--) backwards[t] = schedule(t);
  assert.deepEqual(again, forward, `${what}: a second pass differs`);
  assert.deepEqual(outOfOrder, forward, `${what}: shuffled order differs`);
  assert.deepEqual(backwards, forward, `${what}: backwards differs`);
  assert.ok(forward.every(Number.isFinite), `${what}: non-finite value`);
}

test('every schedule is pure: repeated, shuffled and backwards calls agree', () => {
  for (const spec of specs) {
    const built = createSchedule(spec, timeline);
    assertPure(built.schedule, JSON.stringify(spec));
    if (built.momentum) assertPure(built.momentum, `${JSON.stringify(spec)} momentum`);
  }
  // Factories used directly, and a warmup around a schedule that was already called.
  const inner = sgdr({ base: 1, t0: 10, tMult: 2 });
  inner(57);
  assertPure(withWarmup(inner, 5, 0.3), 'warmup(sgdr)');
  const cyc = cyclicLR({ baseLr: 0, maxLr: 1, stepSizeUp: 5 });
  assertPure(cyc.lr, 'cyclicLR');
  assertPure(oneCycle({ maxLr: 1, totalSteps: 100 }).lr, 'oneCycle beyond its end');
});
