import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareDurations, parseDuration, Timeline } from '../../src/time/index.js';
import { throwsCode } from '../schedules/helpers.js';

test('parseDuration reads every unit', () => {
  const table: [string, number, string][] = [
    ['3ep', 3, 'ep'],
    ['200ba', 200, 'ba'],
    ['12000sp', 12000, 'sp'],
    ['0.75dur', 0.75, 'dur'],
    [' 2ep ', 2, 'ep'],
    ['.5ep', 0.5, 'ep'],
    ['1e3sp', 1000, 'sp'],
    ['0ba', 0, 'ba'],
  ];
  for (const [text, value, unit] of table) {
    assert.deepEqual(parseDuration(text), { value, unit }, text);
  }
});

test('parseDuration refuses bare numbers, bad units, negatives and fractional batches', () => {
  const forms = "'3ep'";
  throwsCode(
    () => parseDuration('100'),
    'ANNEAL_BAD_DURATION',
    '"100"',
    'no unit',
    forms,
    "'0.75dur'",
  );
  throwsCode(() => parseDuration('3 epochs'), 'ANNEAL_BAD_DURATION', '"3 epochs"', forms);
  throwsCode(() => parseDuration('3EP'), 'ANNEAL_BAD_DURATION', '"3EP"');
  throwsCode(() => parseDuration('-2ep'), 'ANNEAL_BAD_DURATION', 'negative');
  throwsCode(() => parseDuration('1.5ba'), 'ANNEAL_BAD_DURATION', '"1.5ba"', 'whole number');
  throwsCode(() => parseDuration('2.5sp'), 'ANNEAL_BAD_DURATION', 'samples must be a whole number');
  throwsCode(() => parseDuration(''), 'ANNEAL_BAD_DURATION', '""');
  throwsCode(() => parseDuration(3 as unknown as string), 'ANNEAL_BAD_DURATION', 'number');
});

test('a timeline converts to steps, rounding to the nearest step', () => {
  const tl = new Timeline({ stepsPerEpoch: 10, samplesPerStep: 32, totalSteps: 200 });
  const table: [string | number, number][] = [
    ['3ep', 30],
    ['0.25ep', 3], // 2.5 rounds half up
    ['0.24ep', 2], // 2.4
    ['200ba', 200],
    ['100sp', 3], // 100 / 32 = 3.125
    ['48sp', 2], // 1.5 rounds half up
    ['0.75dur', 150],
    ['1dur', 200],
    [7, 7],
  ];
  for (const [d, steps] of table) assert.equal(tl.toSteps(d), steps, String(d));
  assert.equal(tl.toSteps({ value: 2, unit: 'ep' }), 20);
});

test('with samplesPerEpoch, whole epochs of samples count the partial last batch', () => {
  // 1000 samples at batch 128 = 8 steps per epoch, the last one of 104 samples.
  const tl = new Timeline({ stepsPerEpoch: 8, samplesPerStep: 128, samplesPerEpoch: 1000 });
  assert.equal(tl.toSteps('2000sp'), 16);
  assert.equal(tl.toSteps('2064sp'), 17); // 16 + 64/128 = 16.5 -> 17
  assert.equal(tl.toSteps('256sp'), 2);
});

test('fractions of the run are exact', () => {
  const tl = new Timeline({ stepsPerEpoch: 10, samplesPerStep: 32, totalSteps: 200 });
  assert.equal(tl.toFraction('0.5dur'), 0.5);
  assert.equal(tl.toFraction('2ep'), 20 / 200);
  assert.equal(tl.toFraction('100sp'), 100 / 32 / 200);
  assert.equal(tl.toFraction(50), 0.25);
});

test("the run's length can be a duration", () => {
  const tl = new Timeline({ stepsPerEpoch: 10, maxDuration: '20ep' });
  assert.equal(tl.totalSteps, 200);
  assert.equal(tl.toSteps('0.5dur'), 100);
  assert.equal(new Timeline({ stepsPerEpoch: 10 }).withTotal('3ep').toSteps('1dur'), 30);
  throwsCode(
    () => new Timeline({ maxDuration: '0.5dur' }),
    'ANNEAL_DURATION_UNITS',
    "'0.5dur'",
    'fraction',
  );
  throwsCode(
    () => new Timeline({ stepsPerEpoch: 10, maxDuration: '2ep', totalSteps: 30 }),
    'ANNEAL_BAD_TIMELINE',
    '30',
    "'2ep'",
  );
});

test('conversions that need a missing field name the value, its unit and the field', () => {
  throwsCode(
    () => new Timeline().toSteps('2ep'),
    'ANNEAL_DURATION_UNITS',
    "'2ep'",
    'epochs',
    'stepsPerEpoch',
  );
  throwsCode(
    () => new Timeline().toSteps('64sp'),
    'ANNEAL_DURATION_UNITS',
    "'64sp'",
    'samplesPerStep',
  );
  throwsCode(
    () => new Timeline({ stepsPerEpoch: 5 }).toSteps('0.5dur'),
    'ANNEAL_DURATION_UNITS',
    "'0.5dur'",
    'fraction of the run',
    'total length',
  );
  throwsCode(() => new Timeline().toSteps(2.5), 'ANNEAL_BAD_DURATION', '2.5');
  throwsCode(() => new Timeline({ stepsPerEpoch: 0 }), 'ANNEAL_BAD_TIMELINE', 'stepsPerEpoch');
});

test('comparing durations: same units always, mixed units through the timeline', () => {
  assert.equal(compareDurations('2ep', '3ep'), -1);
  assert.equal(compareDurations('0.5dur', '0.25dur'), 1);
  assert.equal(compareDurations('7ba', 7), 0);
  // Mixing units without what converts them names both values and units.
  throwsCode(
    () => compareDurations('2ep', '0.5dur'),
    'ANNEAL_DURATION_UNITS',
    "'2ep' (epochs)",
    "'0.5dur' (fraction of the run)",
  );
  throwsCode(
    () => new Timeline({ stepsPerEpoch: 10 }).compare('2ep', '0.5dur'),
    'ANNEAL_DURATION_UNITS',
    "'2ep' (epochs)",
    "'0.5dur' (fraction of the run)",
  );
  const tl = new Timeline({ stepsPerEpoch: 10, samplesPerStep: 32, totalSteps: 200 });
  assert.equal(tl.compare('2ep', '0.5dur'), -1); // 20 < 100 steps
  assert.equal(tl.compare('10ep', '0.5dur'), 0);
  assert.equal(tl.compare('640sp', '2ep'), 0); // 640 / 32 = 20 steps
  assert.equal(tl.compare('641sp', '2ep'), 1); // compared exactly, not after rounding
});
