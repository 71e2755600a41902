/**
 * Every error anneal throws on purpose is an AnnealError with a stable `code`, and a message
 * that states the bad value, what was expected and what to do. The CLI prints `message` as one
 * line (no stack) for these and exits 2; anything else is a bug and keeps its stack.
 */
export class AnnealError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AnnealError';
  }
}

/** Bad user input: a flag, an option, a file or a name that does not fit. */
export class UsageError extends AnnealError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'UsageError';
  }
}

export function isAnnealError(e: unknown): e is AnnealError {
  return e instanceof AnnealError;
}
