import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createSchedule,
  formatPreview,
  previewSchedule,
  renderSchedule,
  linear,
  scheduleNames,
} from '../../src/schedules/index.js';
import { Timeline } from '../../src/time/index.js';
import { close, cosineAt, table, throwsCode } from './helpers.js';
import { maxOf } from '../../src/stats.js';

// 10 steps per epoch at batch 32, a 20-epoch run of 200 steps.
const timeline = new Timeline({ stepsPerEpoch: 10, samplesPerStep: 32, maxDuration: '20ep' });

test('specs resolve durations once with the timeline', () => {
  const cos = createSchedule({ name: 'cosine', base: 0.1, tMax: '10ep' }, timeline).schedule;
  table(
    cos,
    [
      [0, 0.1],
      [50, 0.05],
      [100, 0],
      [150, 0],
    ],
    'cosine over 10ep',
  );
  const exp = createSchedule({ name: 'exponential', gamma: 0.5, every: '1ep' }, timeline).schedule;
  table(
    exp,
    [
      [9, 1],
      [25, 0.25],
    ],
    'exponential per epoch, as a multiplier',
  );
  const steps = createSchedule({ name: 'multistep', milestones: ['0.5dur', '320sp'] }, timeline);
  table(
    steps.schedule,
    [
      [9, 1],
      [10, 0.1],
      [100, 0.01],
    ],
    'milestones at 100 and 10 steps',
  );
});

test('the main length defaults to the rest of the run after warmup', () => {
  const built = createSchedule({ name: 'cosine', warmup: '2ep' }, timeline);
  // Warmup of 20 steps from 0, then a cosine multiplier over the remaining 180.
  table(
    built.schedule,
    [
      [0, 0],
      [10, 0.5],
      [20, 1],
      [110, 0.5],
      [199, cosineAt(1, 0, 179 / 180)],
    ],
    'warmup + cosine',
  );
  const onecycle = createSchedule({ name: 'onecycle', maxLr: 0.4 }, timeline);
  close(onecycle.schedule(199), 0.4 / 25 / 1e4, 'onecycle ends at the last step of the run');
  assert.ok(onecycle.momentum);
  close(onecycle.momentum(0), 0.95, 'momentum comes along');
});

test('multiplicative_cyclic reports where its cycles end', () => {
  const built = createSchedule(
    { name: 'multiplicative_cyclic', peak: 0.4, firstCycle: '1ep' },
    timeline,
  );
  assert.deepEqual(built.cycleEnds, [10, 30, 70, 150]);
  close(built.schedule(30), 0.4, 'restart at a cycle end');
  const warm = createSchedule(
    { name: 'multiplicative_cyclic', firstCycle: '1ep', warmup: '1ep' },
    timeline,
  );
  assert.deepEqual(warm.cycleEnds, [20, 40, 80, 160], 'shifted by the warmup prefix');
});

test('sequential specs, with SWALR starting from the previous schedule', () => {
  const built = createSchedule(
    {
      name: 'sequential',
      schedules: [
        { name: 'cosine', base: 0.1, min: 0.02 },
        { name: 'swalr', swaLr: 0.05, annealSteps: '2ep' },
      ],
      milestones: ['15ep'],
    },
    timeline,
  );
  // The cosine fills its segment (150 steps), so at the milestone it sits at its min 0.02.
  table(
    built.schedule,
    [
      [0, 0.1],
      [75, 0.06],
      [150, 0.02],
      [160, 0.035],
      [170, 0.05],
    ],
    'swa',
  );
});

test('unknown names, unknown options and bad durations are refused with what is accepted', () => {
  throwsCode(
    () => createSchedule({ name: 'cosin' }, timeline),
    'ANNEAL_UNKNOWN_SCHEDULE',
    '"cosin"',
    'cosine',
    'multiplicative_cyclic',
  );
  throwsCode(
    () => createSchedule({ name: 'cosine', tmax: 3 }, timeline),
    'ANNEAL_BAD_SCHEDULE',
    "'tmax'",
    'tMax',
  );
  throwsCode(
    () => createSchedule({ name: 'cosine', tMax: '3' }, timeline),
    'ANNEAL_BAD_DURATION',
    'tMax',
    '"3"',
  );
  throwsCode(
    () => createSchedule({ name: 'cosine', tMax: '0.5dur' }, new Timeline({ stepsPerEpoch: 10 })),
    'ANNEAL_DURATION_UNITS',
    'tMax',
    "'0.5dur'",
  );
  throwsCode(
    () => createSchedule({ name: 'cosine' }, new Timeline({ stepsPerEpoch: 10 })),
    'ANNEAL_BAD_SCHEDULE',
    'tMax is missing',
  );
  throwsCode(() => createSchedule({ tMax: 3 }, timeline), 'ANNEAL_BAD_SCHEDULE', "'name'");
  throwsCode(
    () => createSchedule({ name: 'cosine', warmup: '20ep' }, timeline),
    'ANNEAL_BAD_SCHEDULE',
    'warmup',
    '200',
  );
  throwsCode(
    () =>
      createSchedule(
        {
          name: 'sequential',
          schedules: [{ name: 'constant' }, { name: 'cosine' }],
          milestones: [200],
        },
        timeline,
      ),
    'ANNEAL_BAD_SCHEDULE',
    'milestones',
  );
  throwsCode(
    () => createSchedule({ name: 'sgdr', t0: '2ep', tMult: 'x' }, timeline),
    'ANNEAL_BAD_SCHEDULE',
    'tMult',
  );
});

test('renderSchedule samples every step or evenly spaced points', () => {
  const s = linear({ from: 0, to: 9, steps: 9 });
  assert.deepEqual(renderSchedule(s, 4), { step: [0, 1, 2, 3], value: [0, 1, 2, 3] });
  assert.deepEqual(renderSchedule(s, 10, 4), { step: [0, 3, 6, 9], value: [0, 3, 6, 9] });
  throwsCode(() => renderSchedule(s, 0), 'ANNEAL_BAD_SCHEDULE', '0 steps');
});

test('previewSchedule summarises a spec and formatPreview draws it', () => {
  const preview = previewSchedule({ name: 'onecycle', maxLr: 0.4 }, timeline, 50);
  assert.equal(preview.totalSteps, 200);
  assert.equal(preview.step.length, 50);
  assert.equal(preview.momentum?.length, 50);
  close(preview.first, 0.4 / 25, 'first');
  close(preview.max, maxOf(preview.value), 'max');
  const text = formatPreview(preview, 8);
  assert.ok(text.startsWith('onecycle: 200 steps'));
  assert.equal(text.split('\n').length, 1 + 8 + 2);
  throwsCode(
    () => previewSchedule({ name: 'constant' }, new Timeline()),
    'ANNEAL_BAD_SCHEDULE',
    "run's length",
  );
});

test('every registered name builds from a small spec', () => {
  const minimal: Record<string, object> = {
    step: { stepSize: '2ep' },
    multistep: { milestones: ['5ep'] },
    sgdr: { t0: '2ep' },
    cyclic: { baseLr: 0.01, maxLr: 0.1, stepSizeUp: '1ep' },
    linear: { from: 1, to: 0 },
    swalr: { fromLr: 0.1, swaLr: 0.01, annealSteps: '1ep' },
    multiplicative_cyclic: { firstCycle: '1ep' },
    cyclical: { min: 0, max: 1, cycleSteps: '2ep' },
    cyclical_weight_decay: { min: 1e-5, max: 1e-4 },
    cyclical_batch_size: { large: 128, small: 32 },
    exponential: { gamma: 0.9 },
    sequential: { schedules: [{ name: 'constant' }] },
  };
  for (const name of scheduleNames()) {
    const built = createSchedule({ name, ...minimal[name] }, timeline);
    assert.equal(built.name, name);
    for (const t of [0, 1, 99, 199])
      assert.ok(Number.isFinite(built.schedule(t)), `${name} @ ${t}`);
  }
});
