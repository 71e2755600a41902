/**
 * Argument checks shared by every schedule factory. Each failure is one UsageError that
 * names the schedule, the field, the bad value and what was expected.
 */
import { UsageError } from '../errors.js';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

export function badArgument(
  schedule: string,
  field: string,
  value: unknown,
  expected: string,
): UsageError {
  return new UsageError(
    'ANNEAL_BAD_SCHEDULE',
    `${schedule} schedule: ${field} = ${show(value)} is not valid: expected ${expected}. ` +
      `Change the '${field}' option.`,
  );
}

/** A Checker for one schedule: `const check = checker('cosine'); check.positive('tMax', x)`. */
export function checker(schedule: string) {
  const fail = (field: string, value: unknown, expected: string) =>
    badArgument(schedule, field, value, expected);
  const finite = (field: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw fail(field, value, 'a finite number');
    }
    return value;
  };
  return {
    fail,
    finite,
    /** > 0 */
    positive(field: string, value: unknown): number {
      if (!(finite(field, value) > 0)) throw fail(field, value, 'a number > 0');
      return value as number;
    },
    /** >= 0 */
    nonNegative(field: string, value: unknown): number {
      if (!(finite(field, value) >= 0)) throw fail(field, value, 'a number >= 0');
      return value as number;
    },
    /** An integer >= min (a number of steps, a count). */
    integer(field: string, value: unknown, min: number): number {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
        throw fail(field, value, `an integer >= ${min} (steps)`);
      }
      return value;
    },
    /** lo <= value <= hi, with either end optionally open. */
    inRange(field: string, value: unknown, lo: number, hi: number, open: '' | '(' | ')' | '()') {
      const v = finite(field, value);
      const loOk = open.includes('(') ? v > lo : v >= lo;
      const hiOk = open.includes(')') ? v < hi : v <= hi;
      if (!loOk || !hiOk) {
        const range = `${open.includes('(') ? '(' : '['}${lo}, ${hi}${open.includes(')') ? ')' : ']'}`;
        throw fail(field, value, `a number in ${range}`);
      }
      return v;
    },
    oneOf<T extends string>(field: string, value: unknown, options: readonly T[]): T {
      if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
        throw fail(field, value, `one of ${options.map((o) => `'${o}'`).join(', ')}`);
      }
      return value as T;
    },
    boolean(field: string, value: unknown): boolean {
      if (typeof value !== 'boolean') throw fail(field, value, 'true or false');
      return value;
    },
    /** a <= b, both already checked to be numbers. */
    ordered(loField: string, lo: number, hiField: string, hi: number): void {
      if (lo > hi) throw fail(loField, lo, `a value <= ${hiField} (${hi})`);
    },
  };
}
