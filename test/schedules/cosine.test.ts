import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sgdr } from '../../src/schedules/index.js';
import { close, cosineAt, throwsCode } from './helpers.js';

/**
 * The expected SGDR value found by walking the cycles one by one (lengths t0, t0 m, ...),
 * independent of the closed-form cycle index under test.
 */
function walkSgdr(
  t: number,
  o: { t0: number; tMult: number; base: number; min: number; decay: number; limit: number },
): number {
  let start = 0;
  let length = o.t0;
  let i = 0;
  while (start + length <= t) {
    start += length;
    length *= o.tMult;
    i++;
    if (i > 200) return o.min; // m < 1: past the sum of all cycles
  }
  if (i >= o.limit) return o.min;
  return cosineAt(o.base * o.decay ** i, o.min, (t - start) / length);
}

function checkAgainstWalk(
  o: { t0: number; tMult: number; base: number; min: number; decay: number; limit: number },
  steps: number[],
) {
  const s = sgdr({
    base: o.base,
    t0: o.t0,
    tMult: o.tMult,
    min: o.min,
    decay: o.decay,
    cycleLimit: o.limit === Infinity ? undefined : o.limit,
  });
  for (const t of steps) close(s(t), walkSgdr(t, o), `sgdr tMult=${o.tMult} step ${t}`);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('SGDR with tMult = 1 restarts every t0 steps', () => {
  const s = sgdr({ base: 1, t0: 10, min: 0.1 });
  close(s(0), 1, 'start');
  close(s(5), 0.55, 'middle of cycle 0');
  close(s(9), cosineAt(1, 0.1, 0.9), 'last step of cycle 0');
  close(s(10), 1, 'restart');
  close(s(25), 0.55, 'middle of cycle 2');
});

test('SGDR with tMult = 2: peaks at 0, 4, 12, 28, 60 with cycle decay', () => {
  const o = { t0: 4, tMult: 2, base: 1, min: 0.1, decay: 0.5, limit: Infinity };
  const s = sgdr({ base: 1, t0: 4, tMult: 2, min: 0.1, decay: 0.5 });
  // Boundaries by hand: cycle i starts at 4 (2^i - 1), its peak is 0.5^i.
  [0, 4, 12, 28, 60].forEach((start, i) => close(s(start), 0.5 ** i, `peak of cycle ${i}`));
  // Last step of cycle 1 (length 8, offset 7) and middle of cycle 2 (offset 8 of 16).
  close(s(11), cosineAt(0.5, 0.1, 7 / 8), 'end of cycle 1');
  close(s(20), (0.25 + 0.1) / 2, 'middle of cycle 2');
  checkAgainstWalk(o, range(130));
});

test('SGDR with non-integer tMult = 1.5: restarts at 4, 10, 19, 32.5', () => {
  const o = { t0: 4, tMult: 1.5, base: 1, min: 0, decay: 1, limit: Infinity };
  const s = sgdr({ base: 1, t0: 4, tMult: 1.5 });
  // Lengths 4, 6, 9, 13.5, 20.25: restarts at 4, 10, 19 land on steps; 32.5 does not.
  close(s(10), 1, 'restart at 10');
  close(s(19), 1, 'restart at 19');
  close(s(32), cosineAt(1, 0, 13 / 13.5), 'step 32 is still cycle 3');
  close(s(33), cosineAt(1, 0, 0.5 / 20.25), 'step 33 is half a step into cycle 4');
  checkAgainstWalk(o, range(120));
});

test('SGDR restarts exactly where the closed-form logarithm rounds below the cycle index', () => {
  // t0 = 16, tMult = 1.25: lengths 16, 20, 25 put a restart at step 61, where
  // log(1 + 61/16 * 0.25) / log(1.25) evaluates to 2.9999999999999996, not 3.
  assert.equal(Math.floor(Math.log(1 + (61 / 16) * 0.25) / Math.log(1.25)), 2);
  const s = sgdr({ base: 1, t0: 16, tMult: 1.25, min: 0.1 });
  close(s(61), 1, 'restart at 61');
  close(s(60), cosineAt(1, 0.1, 24 / 25), 'last step of cycle 2');
  checkAgainstWalk(
    { t0: 16, tMult: 1.25, base: 1, min: 0.1, decay: 1, limit: Infinity },
    range(250),
  );
});

test('SGDR with tMult = 0.5: cycles shrink (16, 8, 4, ...) and end at step 32', () => {
  const o = { t0: 16, tMult: 0.5, base: 2, min: 0.2, decay: 1, limit: Infinity };
  const s = sgdr({ base: 2, t0: 16, tMult: 0.5, min: 0.2 });
  for (const start of [0, 16, 24, 28, 30, 31]) close(s(start), 2, `restart at ${start}`);
  close(s(20), cosineAt(2, 0.2, 4 / 8), 'middle of cycle 1');
  close(s(32), 0.2, 'after every cycle');
  close(s(1000), 0.2, 'long after');
  checkAgainstWalk(o, range(40));
});

test('SGDR cycle limit: after the limit the value stays at min', () => {
  const o = { t0: 4, tMult: 2, base: 1, min: 0.05, decay: 1, limit: 2 };
  const s = sgdr({ base: 1, t0: 4, tMult: 2, min: 0.05, cycleLimit: 2 });
  close(s(11), cosineAt(1, 0.05, 7 / 8), 'last step of the last allowed cycle');
  close(s(12), 0.05, 'first step past the limit');
  close(s(500), 0.05, 'long after');
  checkAgainstWalk(o, range(40));
});

test('SGDR k-decay bends the cosine: cos(pi t^k / T^k)', () => {
  const s = sgdr({ base: 1, t0: 10, kDecay: 2 });
  close(s(5), cosineAt(1, 0, 25 / 100), 'k = 2 at the middle');
});

test('SGDR validates its options', () => {
  throwsCode(() => sgdr({ base: 1, t0: 0 }), 'ANNEAL_BAD_SCHEDULE', 'sgdr', 't0', '0');
  throwsCode(() => sgdr({ base: 1, t0: 4, tMult: -1 }), 'ANNEAL_BAD_SCHEDULE', 'tMult');
  throwsCode(() => sgdr({ base: 1, t0: 4, cycleLimit: 1.5 }), 'ANNEAL_BAD_SCHEDULE', 'cycleLimit');
  assert.equal(sgdr({ base: 1, t0: 4, cycleLimit: 1 })(4), 0, 'limit 1 is plain cosine');
});
