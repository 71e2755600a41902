/**
 * What travels through the queue, and the check a worker makes before it runs anything. A job is
 * its kind (the job's name: 'trial', 'curve-run') and `{ version: 1, request }`; the request's
 * paths are relative to the shared directory (`--shared-dir`), which every worker and the
 * coordinator reach, each under its own path. The coordinator refuses a request whose paths lie
 * outside its shared directory before anything is queued; a worker resolves them under its own
 * and refuses a job whose paths would leave it (`..`, absolute paths, a symbolic link that points
 * out), whose fields have the wrong types, or whose recipe does not parse: that job fails with
 * one line, is not retried, and the worker goes on.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { parseRecipe, type Recipe } from '../runs/recipe.js';
import { isModelPath } from '../runs/user-model.js';
import type { TrialRequest, TrialResult } from '../search/trial.js';
import {
  CurveRunResultSchema,
  parseCurveRunRequest,
  type CurveRunRequest,
  type CurveRunResult,
} from '../tradeoff/index.js';

/** A job payload a worker refuses to run: the message is one line, the job's failedReason. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** One kind of job: how its request is written for the queue and read back by a worker. */
export interface JobKind<Request, Result> {
  name: string;
  /** The request with its paths relative to `sharedDir` (throws UsageError for a path outside). */
  encode(request: Request, sharedDir: string): unknown;
  /** Checks a payload and resolves its paths under `sharedDir`; throws PayloadError. */
  decode(payload: unknown, sharedDir: string): Request;
  /** Checks a job's return value. */
  result(value: unknown): Result;
  /** A few words naming the task in a worker's log: 'trial 3, rung 1 (to 4ep)'. */
  describe(request: Request): string;
}

/** What a worker thread is sent: the kind and the decoded request. */
export interface QueueTask {
  kind: string;
  request: unknown;
}

export const PAYLOAD_VERSION = 1;

/** Whether a relative path (path.relative's answer) stays inside its base. */
function isInside(rel: string): boolean {
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/** `path` relative to `sharedDir` in POSIX form; a path outside it is a UsageError. */
export function toShared(path: string, sharedDir: string, what: string): string {
  const rel = relative(resolve(sharedDir), resolve(path));
  if (!isInside(rel)) {
    throw new UsageError(
      'ANNEAL_OUTSIDE_SHARED_DIR',
      `${what} ${path} is outside the shared directory ${sharedDir}: workers reach files only ` +
        'under --shared-dir; put it there or pass a --shared-dir that holds it',
    );
  }
  return rel === '' ? '.' : rel.split(sep).join('/');
}

/** The deepest part of `path` that exists, resolved through symbolic links. */
function realPrefix(path: string): string {
  let p = path;
  const rest: string[] = [];
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    rest.unshift(p.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
    p = up;
  }
  return resolve(realpathSync(p), ...rest);
}

/**
 * A payload path resolved under `sharedDir`; throws PayloadError for one that is not a relative
 * path inside it (lexically, and through the symbolic links that exist).
 */
export function fromShared(path: unknown, sharedDir: string, field: string): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new PayloadError(`${field}: expected a relative path, received ${JSON.stringify(path)}`);
  }
  const root = resolve(sharedDir);
  const inside = (p: string, r: string) => isInside(relative(r, p));
  const abs = resolve(root, path);
  if (isAbsolute(path) || path.startsWith('\\') || !inside(abs, root)) {
    throw new PayloadError(
      `${field}: ${JSON.stringify(path)} is not a path inside the shared directory ${root}; refused`,
    );
  }
  if (!inside(realPrefix(abs), realPrefix(root))) {
    throw new PayloadError(
      `${field}: ${JSON.stringify(path)} leads outside the shared directory ${root} through a symbolic link; refused`,
    );
  }
  return abs;
}

/** zod's issues as one line: `field.path: what was wrong; ...`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
      return `${path === '' ? '' : `${path}: `}${i.message.replace(/^Invalid (input|option): /, '')}`;
    })
    .join('; ');
}

const Envelope = z.strictObject({ version: z.literal(PAYLOAD_VERSION), request: z.unknown() });

/** A job's request, checked against its kind; throws PayloadError naming what is wrong. */
export function decodeJob<R>(
  kinds: Readonly<Record<string, JobKind<unknown, unknown>>>,
  name: string,
  data: unknown,
  sharedDir: string,
): { kind: JobKind<unknown, unknown>; request: R } {
  const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
  if (!kind) {
    throw new PayloadError(
      `unknown job kind ${JSON.stringify(name)}: this worker runs ${Object.keys(kinds).join(', ')}`,
    );
  }
  const envelope = Envelope.safeParse(data);
  if (!envelope.success) {
    throw new PayloadError(`${kind.name} payload: ${describeIssues(envelope.error)}`);
  }
  return { kind, request: kind.decode(envelope.data.request, sharedDir) as R };
}

/** A job's data for the queue. */
export function encodeJob<Request>(
  kind: JobKind<Request, unknown>,
  request: Request,
  sharedDir: string,
): { version: number; request: unknown } {
  return { version: PAYLOAD_VERSION, request: kind.encode(request, sharedDir) };
}

// ---- recipes: the paths a recipe may hold (data.dir, data.cacheDir, model.path) ----

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A recipe's paths relative to the shared directory (the coordinator's side). */
function recipeToShared(recipe: Recipe, sharedDir: string): Recipe {
  const data = { ...recipe.data };
  if (data.dir !== undefined) data.dir = toShared(data.dir, sharedDir, 'data.dir');
  if (data.cacheDir !== undefined)
    data.cacheDir = toShared(data.cacheDir, sharedDir, 'data.cacheDir');
  const model = { ...recipe.model };
  if (model.path !== undefined) model.path = toShared(model.path, sharedDir, 'model.path');
  return { ...recipe, data, model };
}

/** A payload recipe with its paths resolved under the shared directory, then parsed. */
function recipeFromShared(raw: unknown, sharedDir: string, field: string): Recipe {
  if (!isObject(raw)) {
    throw new PayloadError(`${field}: expected an object, received ${JSON.stringify(raw)}`);
  }
  const doc: Json = { ...raw };
  if (isObject(doc.data)) {
    const data: Json = { ...doc.data };
    for (const key of ['dir', 'cacheDir'] as const) {
      if (data[key] !== undefined)
        data[key] = fromShared(data[key], sharedDir, `${field}.data.${key}`);
    }
    doc.data = data;
  }
  // A model file given as the name (`model: ./m.json`) is its path.
  let model = doc.model;
  if (typeof model === 'string' && isModelPath(model)) model = { path: model };
  if (isObject(model)) {
    model = { ...model };
    const m = model as Json;
    if (typeof m.name === 'string' && isModelPath(m.name) && m.path === undefined) {
      m.path = m.name;
      delete m.name;
    }
    if (m.path !== undefined) m.path = fromShared(m.path, sharedDir, `${field}.model.path`);
  }
  doc.model = model;
  try {
    return parseRecipe(doc, { source: field });
  } catch (e) {
    throw new PayloadError((e as Error).message);
  }
}

// ---- trials (src/search) ----

const count = z.number().int().nonnegative();
const positive = z.number().positive().finite();

const TrialJobSchema = z
  .strictObject({
    trial: count,
    bracket: count,
    rung: count,
    resource: positive,
    from: z.number().nonnegative().finite(),
    fidelity: z.enum(['truncated', 'repeated']),
  })
  .refine((j) => j.from < j.resource, { message: 'expected from < resource' });

const TrialPayloadSchema = z.strictObject({
  job: TrialJobSchema,
  recipe: z.unknown(),
  dir: z.string(),
  unit: z.enum(['ep', 'ba', 'sp']),
  maxResource: positive,
  valFraction: z.number().gt(0).lt(1),
  splitSeed: count,
  config: z.record(z.string(), z.unknown()),
});

/** JSON has no NaN: a non-finite score or loss comes back as null. */
const score = z
  .number()
  .nullable()
  .transform((v) => v ?? NaN);

const TrialResultSchema = z.strictObject({
  score,
  loss: score,
  steps: count,
  trainSeconds: z.number().nonnegative(),
  stopReason: z.string().nullable(),
});

export const trialKind: JobKind<TrialRequest, TrialResult> = {
  name: 'trial',
  encode: (request, sharedDir) => ({
    ...request,
    dir: toShared(request.dir, sharedDir, `the directory of trial ${request.job.trial}`),
    recipe: recipeToShared(request.recipe, sharedDir),
  }),
  decode: (payload, sharedDir) => {
    const parsed = TrialPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      throw new PayloadError(`trial payload: ${describeIssues(parsed.error)}`);
    }
    const p = parsed.data;
    if (p.job.resource > p.maxResource) {
      throw new PayloadError(
        `trial payload: job.resource ${p.job.resource} is above maxResource ${p.maxResource}`,
      );
    }
    return {
      ...p,
      dir: fromShared(p.dir, sharedDir, 'trial payload: dir'),
      recipe: recipeFromShared(p.recipe, sharedDir, 'trial payload: recipe'),
    };
  },
  result: (value) => {
    const parsed = TrialResultSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(
        `a trial job returned ${JSON.stringify(value)}: ${describeIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  },
  describe: ({ job, unit }) =>
    `trial ${job.trial}, rung ${job.rung} (${job.from}${unit} to ${job.resource}${unit})`,
};

// ---- curve runs (src/tradeoff) ----

export const curveRunKind: JobKind<CurveRunRequest, CurveRunResult> = {
  name: 'curve-run',
  encode: (request, sharedDir) => ({
    ...request,
    ...(request.dir === undefined
      ? {}
      : { dir: toShared(request.dir, sharedDir, `the directory of curve run ${request.name}`) }),
    recipe: recipeToShared(request.recipe, sharedDir),
  }),
  decode: (payload, sharedDir) => {
    if (!isObject(payload)) {
      throw new PayloadError(
        `curve-run payload: expected an object, received ${JSON.stringify(payload)}`,
      );
    }
    const doc: Json = { ...payload };
    if (doc.dir !== undefined) doc.dir = fromShared(doc.dir, sharedDir, 'curve-run payload: dir');
    if (doc.recipe !== undefined) {
      doc.recipe = recipeFromShared(doc.recipe, sharedDir, 'curve-run payload: recipe');
    }
    try {
      return parseCurveRunRequest(doc);
    } catch (e) {
      throw new PayloadError(
        `curve-run payload: ${(e as Error).message.replace(/^curve run request: /, '')}`,
      );
    }
  },
  result: (value) => {
    const parsed = CurveRunResultSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(
        `a curve-run job returned ${JSON.stringify(value)}: ${describeIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  },
  describe: (r) => `curve run ${r.name}, seed ${r.recipe.seed} (${r.run})`,
};

/** The kinds `anneal worker` runs. */
export const JOB_KINDS: Readonly<Record<string, JobKind<unknown, unknown>>> = Object.freeze({
  trial: trialKind as JobKind<unknown, unknown>,
  'curve-run': curveRunKind as JobKind<unknown, unknown>,
});
