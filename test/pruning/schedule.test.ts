/**
 * Sparsity and retraining schedules against closed forms written out here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cycleSparsities,
  gradualSparsity,
  retrainSchedule,
  splitBudget,
} from '../../src/pruning/schedule.js';

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

test('IMP cycles: s_k = 1 - (1 - target)^(k/K), the same fraction of the rest each cycle', () => {
  const s = cycleSparsities(0.9, 3);
  assert.equal(s.length, 3);
  for (let k = 1; k <= 3; k++) close(s[k - 1], 1 - 0.1 ** (k / 3), `s_${k}`);
  assert.equal(s[2], 0.9);
  const perCycle = 1 - 0.1 ** (1 / 3);
  let rest = 1;
  for (let k = 0; k < 3; k++) {
    close(1 - (1 - s[k]) / rest, perCycle, `fraction of cycle ${k + 1}`);
    rest = 1 - s[k];
  }
  assert.deepEqual(cycleSparsities(0.5, 1), [0.5]);
  assert.throws(() => cycleSparsities(1, 2), /target = 1 is not valid/);
});

test('budget split: equal parts, remainder to the last cycle', () => {
  assert.deepEqual(splitBudget(10, 3), [3, 3, 4]);
  assert.deepEqual(splitBudget(9, 3), [3, 3, 3]);
  assert.deepEqual(splitBudget(2, 3), [0, 0, 2]);
});

test('Zhu & Gupta: closed form at the knots, held between them, 0 before t0, s_f after', () => {
  const [si, sf, t0, end, dt] = [0.1, 0.8, 10, 50, 8];
  const s = gradualSparsity({ initial: si, final: sf, start: t0, end, frequency: dt });
  const T = end - t0;
  for (let k = 0; t0 + k * dt < end; k++) {
    const t = t0 + k * dt;
    const expected = sf + (si - sf) * (1 - (k * dt) / T) ** 3;
    close(s(t), expected, `knot t=${t}`);
    if (t + dt - 1 < end) close(s(t + dt - 1), expected, `held after t=${t}`);
  }
  assert.equal(s(0), 0);
  assert.equal(s(t0 - 1), 0);
  close(s(t0), si, 't0');
  assert.equal(s(end), sf);
  assert.equal(s(end + 100), sf);
});

/** Original schedule: warmup 0->1 over 10 steps, 1 until 50, 0.1 until 75, then 0.01; 100 steps. */
const original = (t: number) => (t < 10 ? t / 10 : t < 50 ? 1 : t < 75 ? 0.1 : 0.01);
const ctx = { original, originalSteps: 100 };

test('ft: the final learning rate throughout', () => {
  const s = retrainSchedule('ft', { ...ctx, steps: 20 });
  for (const t of [0, 5, 19]) assert.equal(s(t), 0.01);
});

test('lrw: the last `steps` steps of the original schedule', () => {
  const s = retrainSchedule('lrw', { ...ctx, steps: 30 });
  // step t replays original step 70 + t.
  assert.equal(s(0), 0.1);
  assert.equal(s(4), 0.1);
  assert.equal(s(5), 0.01);
  assert.equal(s(29), 0.01);
});

test('slr: linear warmup, then the original compressed in time, its warmup raised to the peak', () => {
  const s = retrainSchedule('slr', { ...ctx, steps: 20 });
  // W = floor(0.1 * 20) = 2 warmup steps, R = 18: step 2 + j uses original(floor(j * 100 / 18)).
  assert.equal(s(0), 0);
  close(s(1), 0.5, 'warmup');
  assert.equal(s(2), 1); // original(0) = 0 is in the original warmup: raised to 1
  assert.equal(s(3), 1); // original(5): same
  assert.equal(s(2 + 8), 1); // floor(44.4) = 44
  assert.equal(s(2 + 9), 0.1); // floor(50) = 50
  assert.equal(s(2 + 13), 0.1); // floor(72.2) = 72
  assert.equal(s(2 + 14), 0.01); // floor(77.7) = 77
  assert.equal(s(19), 0.01);
});

test('clr: warmup to the peak, then one cosine to the final lr', () => {
  const s = retrainSchedule('clr', { ...ctx, steps: 20 });
  for (const j of [0, 5, 9, 17]) {
    close(s(2 + j), 0.01 + ((1 - 0.01) * (1 + Math.cos((Math.PI * j) / 18))) / 2, `j=${j}`);
  }
  close(s(1), 0.5, 'warmup');
});

test('llr: warmup to the peak, then linear to 0', () => {
  const s = retrainSchedule('llr', { ...ctx, steps: 20 });
  for (const j of [0, 6, 17]) close(s(2 + j), 1 - j / 18, `j=${j}`);
});

test('allr: llr from clip(max d / sqrt(p), min(steps/original, 1) max, max)', () => {
  const a = retrainSchedule('allr', { ...ctx, steps: 20, normDrop: 0.2, prunedFraction: 0.5 });
  const eta = 0.2 / Math.sqrt(0.5); // 0.283 > floor 20/100 = 0.2
  for (const j of [0, 9, 17]) close(a(2 + j), eta * (1 - j / 18), `j=${j}`);
  close(a(1), eta / 2, 'warmup');
  const low = retrainSchedule('allr', { ...ctx, steps: 20, normDrop: 0.05, prunedFraction: 0.5 });
  close(low(2), 0.2, 'clipped up to the budget floor');
  const high = retrainSchedule('allr', { ...ctx, steps: 20, normDrop: 0.9, prunedFraction: 0.5 });
  close(high(2), 1, 'clipped down to the peak');
  assert.throws(() => retrainSchedule('allr', { ...ctx, steps: 20 }), /allr needs/);
});

test('an unknown retraining schedule is refused by name', () => {
  assert.throws(
    () => retrainSchedule('nope' as 'ft', { ...ctx, steps: 5 }),
    /unknown retraining schedule "nope": expected one of ft, lrw, slr, clr, llr, allr/,
  );
});
