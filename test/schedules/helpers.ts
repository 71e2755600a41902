import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';

/** |actual - expected| <= tol * max(1, |expected|). */
export function close(actual: number, expected: number, what: string, tol = 1e-12): void {
  const ok = Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, expected ${expected}`);
}

/** Checks a table of [step, expected] against a schedule. */
export function table(schedule: (t: number) => number, rows: [number, number][], what: string) {
  for (const [t, expected] of rows) close(schedule(t), expected, `${what} at step ${t}`);
}

export function throwsCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" lacks "${m}"`);
    return true;
  });
}

/** min + (max - min)(1 + cos(pi x)) / 2, written out for the tests. */
export const cosineAt = (max: number, min: number, x: number): number =>
  min + ((max - min) * (1 + Math.cos(Math.PI * x))) / 2;
