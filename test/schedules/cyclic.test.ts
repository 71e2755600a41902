import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cyclicLR, oneCycle, swalr } from '../../src/schedules/index.js';
import { close, cosineAt, table, throwsCode } from './helpers.js';

test('CyclicLR triangular: base -> max -> base every up + down steps', () => {
  const { lr } = cyclicLR({ baseLr: 0.1, maxLr: 1, stepSizeUp: 4 });
  table(
    lr,
    [
      [0, 0.1],
      [2, 0.55],
      [4, 1],
      [6, 0.55],
      [8, 0.1],
      [12, 1],
    ],
    'triangular',
  );
  const asym = cyclicLR({ baseLr: 0.1, maxLr: 1, stepSizeUp: 2, stepSizeDown: 6 }).lr;
  // Down from step 2 to 8 over 6 steps: step 5 is halfway.
  table(
    asym,
    [
      [1, 0.55],
      [2, 1],
      [5, 0.55],
      [8, 0.1],
    ],
    'asymmetric',
  );
});

test('CyclicLR triangular2 halves the amplitude every cycle; exp_range scales by gamma^t', () => {
  const { lr } = cyclicLR({ baseLr: 0.1, maxLr: 1, stepSizeUp: 4, mode: 'triangular2' });
  // Peaks at steps 4, 12, 20: amplitude 0.9, 0.45, 0.225.
  table(
    lr,
    [
      [4, 1],
      [12, 0.55],
      [20, 0.325],
      [10, 0.1 + 0.45 * 0.5],
    ],
    'triangular2',
  );
  const exp = cyclicLR({ baseLr: 0.1, maxLr: 1, stepSizeUp: 4, mode: 'exp_range', gamma: 0.99 }).lr;
  table(
    exp,
    [
      [4, 0.1 + 0.9 * 0.99 ** 4],
      [14, 0.1 + 0.9 * 0.5 * 0.99 ** 14],
    ],
    'exp_range',
  );
});

test('CyclicLR momentum runs in antiphase', () => {
  const { lr, momentum } = cyclicLR({
    baseLr: 0.1,
    maxLr: 1,
    stepSizeUp: 4,
    mode: 'triangular2',
    baseMomentum: 0.8,
    maxMomentum: 0.9,
  });
  assert.ok(momentum);
  table(
    momentum,
    [
      [0, 0.9],
      [4, 0.8],
      [8, 0.9],
      [12, 0.85],
    ],
    'momentum',
  );
  for (let t = 0; t < 40; t++) {
    // The same fraction of the way: lr up from base, momentum down from max.
    close((lr(t) - 0.1) / 0.9, (0.9 - momentum(t)) / 0.1, `antiphase at step ${t}`, 1e-9);
  }
  assert.equal(cyclicLR({ baseLr: 0, maxLr: 1, cycleMomentum: false }).momentum, undefined);
});

test('OneCycle: initial max/div, peak at pctStart*T - 1, final initial/finalDiv, momentum opposite', () => {
  const { lr, momentum } = oneCycle({ maxLr: 1, totalSteps: 100 });
  assert.ok(momentum);
  const initial = 1 / 25;
  const final = initial / 1e4;
  table(
    lr,
    [
      [0, initial],
      [29, 1],
      [99, final],
      [150, final],
    ],
    'lr',
  );
  // Phase 2 runs from step 29 to 99: step 64 is its middle.
  close(lr(64), cosineAt(1, final, 0.5), 'middle of phase 2');
  close(lr(10), cosineAt(initial, 1, 10 / 29), 'inside phase 1');
  table(
    momentum,
    [
      [0, 0.95],
      [29, 0.85],
      [64, 0.9],
      [99, 0.95],
    ],
    'momentum',
  );
  const linear = oneCycle({ maxLr: 1, totalSteps: 100, annealStrategy: 'linear' }).lr;
  close(linear(10), initial + ((1 - initial) * 10) / 29, 'linear phase 1');
});

test('OneCycle three-phase: up, back to the initial lr, then down to the final lr', () => {
  const { lr, momentum } = oneCycle({
    maxLr: 1,
    totalSteps: 100,
    pctStart: 0.25,
    threePhase: true,
  });
  assert.ok(momentum);
  const initial = 0.04;
  // Phase ends: 0.25*100 - 1 = 24, 2*0.25*100 - 2 = 48, 99.
  table(
    lr,
    [
      [0, initial],
      [24, 1],
      [36, (1 + initial) / 2],
      [48, initial],
      [99, initial / 1e4],
    ],
    'lr',
  );
  table(
    momentum,
    [
      [0, 0.95],
      [24, 0.85],
      [48, 0.95],
      [70, 0.95],
      [99, 0.95],
    ],
    'momentum',
  );
});

test('OneCycle rejects phases without steps, naming pctStart', () => {
  throwsCode(
    () => oneCycle({ maxLr: 1, totalSteps: 100, pctStart: 0.005 }),
    'ANNEAL_BAD_SCHEDULE',
    'onecycle',
    'pctStart',
  );
  throwsCode(
    () => oneCycle({ maxLr: 1, totalSteps: 100, pctStart: 1.2 }),
    'ANNEAL_BAD_SCHEDULE',
    'pctStart',
  );
  throwsCode(
    () => oneCycle({ maxLr: 1, totalSteps: 100, annealStrategy: 'exp' as 'cos' }),
    'ANNEAL_BAD_SCHEDULE',
    "'cos', 'linear'",
  );
});

test('SWALR anneals from the current lr to swaLr, then holds it', () => {
  const cos = swalr({ fromLr: 0.1, swaLr: 0.01, annealSteps: 10 });
  table(
    cos,
    [
      [0, 0.1],
      [5, 0.055],
      [10, 0.01],
      [20, 0.01],
    ],
    'cos',
  );
  const lin = swalr({ fromLr: 0.1, swaLr: 0.01, annealSteps: 10, strategy: 'linear' });
  table(lin, [[3, 0.1 * 0.7 + 0.01 * 0.3]], 'linear');
  table(swalr({ fromLr: 0.1, swaLr: 0.01, annealSteps: 0 }), [[0, 0.01]], 'no annealing');
  // PyTorch steps SWALR once per epoch: with 5 steps per epoch and anneal_epochs = 3, every
  // step of epoch e uses alpha(e / 3).
  const perEpoch = swalr({ fromLr: 0.1, swaLr: 0.01, annealSteps: 15, updateEvery: 5 });
  for (let t = 0; t < 25; t++) {
    const alpha = (1 - Math.cos(Math.PI * Math.min(1, Math.floor(t / 5) / 3))) / 2;
    close(perEpoch(t), 0.01 * alpha + 0.1 * (1 - alpha), `per-epoch step ${t}`);
  }
});
