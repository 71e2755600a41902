import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cyclical,
  cyclicalBatchSizeSchedule,
  cyclicalGradClipSchedule,
  cyclicalTemperatureSchedule,
  cyclicalWeightDecaySchedule,
} from '../../src/schedules/index.js';
import { close, table, throwsCode } from './helpers.js';

test('generic cyclical: triangle, cosine, phase and peak position', () => {
  table(
    cyclical({ min: 1, max: 3, cycleSteps: 8 }),
    [
      [0, 1],
      [2, 2],
      [4, 3],
      [6, 2],
      [8, 1],
      [12, 3],
    ],
    'triangle',
  );
  table(
    cyclical({ min: 1, max: 3, cycleSteps: 8, shape: 'cosine' }),
    [
      [1, 1 + (1 - Math.cos(Math.PI / 4))],
      [2, 2],
      [4, 3],
    ],
    'cosine',
  );
  table(
    cyclical({ min: 1, max: 3, cycleSteps: 8, phase: 0.5 }),
    [
      [0, 3],
      [4, 1],
    ],
    'phase',
  );
  // Peak a quarter of the way: up over 2 steps, down over 6.
  table(
    cyclical({ min: 1, max: 3, cycleSteps: 8, peakAt: 0.25 }),
    [
      [2, 3],
      [5, 2],
    ],
    'peakAt',
  );
  throwsCode(() => cyclical({ min: 3, max: 1, cycleSteps: 8 }), 'ANNEAL_BAD_SCHEDULE', 'min');
});

/**
 * The CFL code's eta (lnsmith54/CFL, TIMM/train.py), continuous in the fraction x of the run:
 * 1 - factor x before the hard point, (factor x - 1) / (factor - 1) after it; the value is
 * eta * easy + (1 - eta) * hard.
 */
function smithValue(x: number, factor: number, easy: number, hard: number): number {
  const eta = factor * x < 1 ? 1 - factor * x : (factor * x - 1) / (factor - 1);
  return eta * easy + (1 - eta) * hard;
}

test('cyclical weight decay is low -> high -> low as in Smith 2022 (factors 2 and 4)', () => {
  for (const factor of [2, 4]) {
    const s = cyclicalWeightDecaySchedule({ min: 1e-5, max: 8e-5, totalSteps: 100, factor });
    for (const t of [0, 10, 25, 37, 50, 75, 99]) {
      close(s(t), smithValue(t / 100, factor, 1e-5, 8e-5), `factor ${factor} step ${t}`);
    }
  }
  const s = cyclicalWeightDecaySchedule({ min: 1e-5, max: 8e-5, totalSteps: 100 });
  close(s(0), 1e-5, 'start');
  close(s(50), 8e-5, 'middle');
});

test('temperature and gradient-clip presets use the CFL defaults', () => {
  const temp = cyclicalTemperatureSchedule({ totalSteps: 40 });
  table(
    temp,
    [
      [0, 0.5],
      [10, 1.25],
      [20, 2],
    ],
    'temperature',
  );
  const clip = cyclicalGradClipSchedule({ totalSteps: 40 });
  table(
    clip,
    [
      [0, 0.5],
      [20, 100],
    ],
    'grad clip',
  );
});

test('cyclical batch size is large -> small -> large and always an integer', () => {
  const s = cyclicalBatchSizeSchedule({ large: 256, small: 32, totalSteps: 100 });
  table(
    s,
    [
      [0, 256],
      [50, 32],
      [25, 144],
      [1, 252],
    ],
    'batch size',
  ); // 256 - 224 * 0.02 = 251.52
  for (let t = 0; t < 100; t++) {
    const b = s(t);
    assert.ok(Number.isInteger(b) && b >= 32 && b <= 256, `step ${t}: ${b}`);
  }
  throwsCode(
    () => cyclicalBatchSizeSchedule({ large: 32, small: 256, totalSteps: 100 }),
    'ANNEAL_BAD_SCHEDULE',
    'small',
  );
  throwsCode(
    () => cyclicalWeightDecaySchedule({ min: 0, max: 1, totalSteps: 10, factor: 1 }),
    'ANNEAL_BAD_SCHEDULE',
    'factor',
  );
});
