/** The one-line error every method gives for a bad option: method, option, value, what fits. */
import { UsageError } from './errors.js';

export function invalidOption(
  method: string,
  option: string,
  value: unknown,
  expected: string,
): UsageError {
  const shown = Array.isArray(value)
    ? `[${value.join(', ')}]`
    : typeof value === 'string'
      ? JSON.stringify(value)
      : String(value);
  return new UsageError(
    'ANNEAL_BAD_METHOD_OPTION',
    `${method}: ${option} = ${shown} is not valid: expected ${expected}`,
  );
}

/** `value` when it is a finite number that `ok` accepts; else the method's one-line error. */
export function checkNumber(
  method: string,
  option: string,
  value: unknown,
  ok: (v: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw invalidOption(method, option, value, expected);
  }
  return value;
}
