/**
 * The queue tests' fake job kind: a request that counts steps in a worker thread (fake-tasks.ts)
 * instead of training, so the queue's own behaviour is tested in a fraction of a second per job.
 */
import { z } from 'zod';
import {
  describeIssues,
  fromShared,
  PayloadError,
  toShared,
  type JobKind,
} from '../../src/queue/payload.js';

export interface FakeRequest {
  x: number;
  steps: number;
  stepMs: number;
  /** Thrown after the last step. */
  fail?: string;
  /** Where the task keeps its checkpoint (a path inside the shared directory). */
  dir?: string;
}

export interface FakeResult {
  y: number;
  /** The step it started from (> 0: resumed from a checkpoint). */
  from: number;
}

const Request = z.strictObject({
  x: z.number(),
  steps: z.number().int().nonnegative(),
  stepMs: z.number().nonnegative(),
  fail: z.string().optional(),
  dir: z.string().optional(),
});

export const fakeKind: JobKind<FakeRequest, FakeResult> = {
  name: 'fake',
  encode: (r, shared) => ({ ...r, ...(r.dir ? { dir: toShared(r.dir, shared, 'dir') } : {}) }),
  decode: (payload, shared) => {
    const parsed = Request.safeParse(payload);
    if (!parsed.success) throw new PayloadError(`fake payload: ${describeIssues(parsed.error)}`);
    const r = parsed.data;
    return r.dir === undefined ? r : { ...r, dir: fromShared(r.dir, shared, 'fake payload: dir') };
  },
  result: (v) => z.strictObject({ y: z.number(), from: z.number() }).parse(v),
  describe: (r) => `fake x=${r.x}`,
};

export const fakeKinds = { fake: fakeKind as JobKind<unknown, unknown> };
export const fakeEntry = new URL('./fake-tasks.ts', import.meta.url);
