/**
 * Events and methods: the event enum, the order methods run in (reversed on AFTER_* / *_END),
 * the trace, plain-object async callbacks, and method log records reaching callbacks.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Event, EVENTS, isReversedEvent, TAPE_EVENTS } from '../../src/train/events.js';
import type { Callback, Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from './helpers.js';

before(useTfCpu);

/** One batch's events, in order, as DESIGN.md lists them. */
const BATCH_EVENTS = [
  'batch_start',
  'before_forward',
  'after_forward',
  'before_loss',
  'after_loss',
  'before_backward',
  'after_backward',
  'before_step',
  'after_step',
  'batch_end',
];

test("the events are DESIGN.md's list, and AFTER_* / *_END ones reverse the order", () => {
  assert.deepEqual(
    [...EVENTS],
    [
      'init',
      'fit_start',
      'epoch_start',
      ...BATCH_EVENTS,
      'epoch_end',
      'eval_start',
      'eval_end',
      'fit_end',
      'checkpoint',
    ],
  );
  const reversed = EVENTS.filter(isReversedEvent);
  assert.deepEqual(reversed, [
    'after_forward',
    'after_loss',
    'after_backward',
    'after_step',
    'batch_end',
    'epoch_end',
    'eval_end',
    'fit_end',
  ]);
});

function toy(name: string, only?: Event): Method {
  return { name, match: (event) => only === undefined || event === only, apply() {} };
}

test('methods run in order, in reverse on AFTER_* and *_END events, and the trace records it', async () => {
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(40),
    evalData: tinyData(20, 9),
    maxDuration: '2ep',
    batchSize: 20,
    kernels: 'js',
    methods: [toy('a'), toy('b'), toy('c', Event.BATCH_START)],
    trace: true,
  });
  await trainer.fit();
  const events = trainer.trace.map((t) => t.event as string);
  const epoch = [
    'epoch_start',
    ...BATCH_EVENTS,
    ...BATCH_EVENTS,
    'epoch_end',
    'eval_start',
    'eval_end',
  ];
  // No checkpoint directory is configured, so there is no CHECKPOINT event.
  assert.deepEqual(events, ['init', 'fit_start', ...epoch, ...epoch, 'fit_end']);
  for (const entry of trainer.trace) {
    const expected =
      entry.event === Event.BATCH_START
        ? ['a', 'b', 'c']
        : isReversedEvent(entry.event)
          ? ['b', 'a']
          : ['a', 'b'];
    assert.deepEqual(entry.methods, expected, entry.event);
  }
  assert.deepEqual(trainer.lastRan(Event.AFTER_STEP), ['b', 'a']);
  // The batch of step 1 ran its events at timestamp step 1 until BATCH_END, which counts it.
  const stepOf = (event: string, n: number) =>
    trainer.trace.filter((t) => t.event === event)[n].step;
  assert.equal(stepOf('before_step', 1), 1);
  assert.equal(stepOf('batch_end', 1), 2);
  trainer.dispose();
});

test('callbacks are plain objects of async hooks, awaited in order; they never see tape events', async () => {
  const calls: string[] = [];
  const seen = new Set<string>();
  let pending = false;
  const logger: Method = {
    name: 'logger',
    match: (event) => event === Event.EPOCH_END,
    apply: (_e, state, log) => log.log('toy', { epochs: state.timestamp.epoch }),
  };
  const callback: Callback = {
    async onBatchStart() {
      assert.equal(pending, false, 'the previous onBatchEnd was awaited');
      calls.push('batch_start');
    },
    async onBatchEnd() {
      pending = true;
      await new Promise((r) => setTimeout(r, 2));
      pending = false;
      calls.push('batch_end');
    },
    onFitStart: () => void calls.push('fit_start'),
    onEpochStart: () => void calls.push('epoch_start'),
    onEpochEnd: () => void calls.push('epoch_end'),
    onFitEnd: () => void calls.push('fit_end'),
    onEvent: (event) => void seen.add(event),
    onLog: (record) => void calls.push(`log:${record.event}:${record.epochs}:${record.step}`),
  };
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(40),
    maxDuration: '2ep',
    batchSize: 20,
    kernels: 'js',
    methods: [logger],
    callbacks: [callback],
  });
  await trainer.fit();
  const epoch = (n: number) => [
    'epoch_start',
    'batch_start',
    'batch_end',
    'batch_start',
    'batch_end',
    'epoch_end',
    `log:toy:${n}:${2 * n}`,
  ];
  assert.deepEqual(calls, ['fit_start', ...epoch(1), ...epoch(2), 'fit_end']);
  for (const event of TAPE_EVENTS) assert.ok(!seen.has(event), `${event} reached a callback`);
  for (const event of ['init', 'after_backward', 'before_step', 'after_step'])
    assert.ok(seen.has(event), event);
  trainer.dispose();
});

test('two methods with one name are refused', () => {
  assert.throws(
    () =>
      new Trainer({
        model: tinyMlp(),
        trainData: tinyData(40),
        maxDuration: '1ep',
        kernels: 'js',
        methods: [toy('twin'), toy('twin')],
      }),
    (e: Error & { code?: string }) =>
      e.code === 'ANNEAL_DUPLICATE_METHOD' && /twin/.test(e.message),
  );
});
