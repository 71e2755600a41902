import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  multiplicativeCycleEnds,
  multiplicativeCyclesLength,
  multiplicativeCyclic,
} from '../../src/schedules/index.js';
import { close, throwsCode } from './helpers.js';

/** Cycle ends by summing the lengths T m^i one by one and rounding each running total. */
function endsBySumming(T: number, m: number, count: number): number[] {
  const ends: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    total += T * m ** i;
    ends.push(Math.round(total));
  }
  return ends;
}

test('m = 2: cycles of 10, 20, 40, 80 steps, peak at each start, ~0 at each end', () => {
  const opts = { peak: 1, firstCycle: 10 };
  const s = multiplicativeCyclic(opts);
  assert.deepEqual(multiplicativeCycleEnds(opts, 150), [10, 30, 70, 150]);
  assert.deepEqual(multiplicativeCycleEnds(opts, 149), [10, 30, 70]);
  assert.equal(multiplicativeCyclesLength(opts, 4), 150);
  const starts = [0, 10, 30, 70];
  const lengths = [10, 20, 40, 80];
  starts.forEach((start, i) => {
    close(s(start), 1, `peak at the start of cycle ${i}`);
    // The last step of a cycle of L steps uses peak / L; the next step restarts.
    close(s(start + lengths[i] - 1), 1 / lengths[i], `last step of cycle ${i}`);
    close(s(start + lengths[i] / 2), 0.5, `middle of cycle ${i}`);
  });
});

test('non-integer m = 1.5: boundaries round the running total, not each length', () => {
  const opts = { peak: 2, firstCycle: 10, mult: 1.5 };
  const ends = endsBySumming(10, 1.5, 6); // 10, 25, 47.5 -> 48, 81.25 -> 81, ...
  assert.deepEqual(ends.slice(0, 4), [10, 25, 48, 81]);
  assert.deepEqual(multiplicativeCycleEnds(opts, ends[5]), ends);
  const s = multiplicativeCyclic(opts);
  const starts = [0, ...ends];
  for (let i = 0; i < 5; i++) {
    const length = starts[i + 1] - starts[i];
    close(s(starts[i]), 2, `peak at ${starts[i]}`);
    close(s(starts[i + 1] - 1), 2 / length, `last step of cycle ${i} (length ${length})`);
  }
});

test('cosine shape, a floor value and a warmup at every restart', () => {
  const cos = multiplicativeCyclic({ peak: 1, firstCycle: 10, shape: 'cosine' });
  close(cos(20), 0.5, 'cosine middle of cycle 1 (offset 10 of 20)');
  close(cos(15), (1 + Math.cos(Math.PI / 4)) / 2, 'cosine quarter');
  const floor = multiplicativeCyclic({ peak: 1, firstCycle: 10, min: 0.1 });
  close(floor(29), 0.1 + 0.9 / 20, 'last step of cycle 1 with min 0.1');
  const warm = multiplicativeCyclic({ peak: 1, firstCycle: 10, cycleWarmup: 4 });
  close(warm(10), 0, 'cycle 1 starts its warmup at 0');
  close(warm(12), 0.5, 'halfway through the warmup');
  close(warm(14), 1, 'peak after the warmup');
  close(warm(29), 1 / 16, 'last step: decay over 20 - 4 steps');
});

test('multiplicative cyclic validates its options', () => {
  throwsCode(
    () => multiplicativeCyclic({ peak: 1, firstCycle: 10, mult: 0.5 }),
    'ANNEAL_BAD_SCHEDULE',
    'mult',
    '0.5',
  );
  throwsCode(
    () => multiplicativeCyclic({ peak: 1, firstCycle: 10, cycleWarmup: 10 }),
    'ANNEAL_BAD_SCHEDULE',
    'cycleWarmup',
  );
  throwsCode(
    () => multiplicativeCyclic({ peak: 1, firstCycle: 0 }),
    'ANNEAL_BAD_SCHEDULE',
    'firstCycle',
  );
});
