/**
 * One job of a trial: train the trial's recipe from its previous rung's checkpoint up to the
 * job's resource, then score it on a held-out validation split of the TRAINING data (never the
 * test set). Each trial has its own directory: config.json, log.jsonl, checkpoints/.
 *
 * How a promotion continues training:
 * - 'truncated' (SHA, Hyperband, ASHA, median): the trial's run is the whole max resource R
 *   with the recipe's schedules over R; a job trains the next piece of it and stops, the
 *   checkpoint keeps weights, optimizer state and data position, and the next rung resumes
 *   exactly there. A rung's score is therefore taken mid-schedule (lr still high).
 * - 'repeated' (MORL): the job resumes the same checkpoint but trains its piece
 *   [from, resource) with the recipe's lr (and weight decay, momentum) schedule compressed into
 *   that piece: one complete short cycle per rung (cosine when the recipe has no lr schedule),
 *   so every rung is scored at the end of a cycle.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataLoader, splitValidation, type Dataset } from '../data/index.js';
import type { EngineState } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { JsonlLogger } from '../logs/jsonl.js';
import { createSchedule, type Schedule, type ScheduleSpec } from '../schedules/index.js';
import { evaluate } from '../train/evaluate.js';
import { loadRecipeInputs, recipeTrainerOptions, type Recipe } from '../runs/recipe.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import { Timeline, type TimeUnit } from '../time/index.js';
import { Trainer, type TrainerSchedules } from '../train/trainer.js';
import { CheckpointStore } from '../train/checkpoint.js';
import type { Callback } from '../train/method.js';
import { TaskInterrupted, type TaskContext } from '../runs/executor.js';
import type { Job } from './schedulers.js';

export interface TrialRequest {
  job: Job;
  /** The trial's recipe (base recipe with its sampled values). */
  recipe: Recipe;
  /** The trial's directory. */
  dir: string;
  unit: Exclude<TimeUnit, 'dur'>;
  maxResource: number;
  /** Fraction of the training data held out for the score. */
  valFraction: number;
  /** Seeds the validation split (the same split for every trial). */
  splitSeed: number;
  /** Values sampled for this trial, kept in its config.json. */
  config: Record<string, unknown>;
}

export interface TrialResult {
  score: number;
  loss: number;
  steps: number;
  trainSeconds: number;
  stopReason: string | null;
}

/** Training data without its validation part, and the validation part. */
export async function trialData(
  recipe: Recipe,
  valFraction: number,
  splitSeed: number,
): Promise<{ train: Dataset; val: Dataset; model: tfl.LayersModel; engine: EngineState }> {
  const inputs = await loadRecipeInputs(recipe);
  const { train, val } = splitValidation(inputs.train, valFraction, splitSeed);
  return { train, val, model: inputs.model, engine: inputs.engine };
}

export function timelineOf(train: Dataset, recipe: Recipe): Timeline {
  return Timeline.ofLoader(new DataLoader(train, { batchSize: recipe.batchSize, shuffle: false }));
}

/** The recipe's schedules compressed into steps [start, end): one complete cycle there. */
function repeatedSchedules(
  recipe: Recipe,
  timeline: Timeline,
  start: number,
  end: number,
): TrainerSchedules {
  const segment = timeline.withTotal(end - start);
  const shift = (spec: unknown): Schedule | undefined => {
    if (spec === undefined) return undefined;
    const inner = createSchedule(spec, segment).schedule;
    return (step: number) => inner(step - start);
  };
  const { lr, weightDecay, momentum } = recipe.schedules;
  return {
    lr: shift(lr ?? ({ name: 'cosine' } satisfies ScheduleSpec)),
    weightDecay: shift(weightDecay),
    momentum: shift(momentum),
  };
}

/** The step of the checkpoint a resume from `dir` loads (-1 when it has none). */
function savedStep(dir: string): number {
  return new CheckpointStore(dir).latest()?.step ?? -1;
}

/**
 * Trains one job of a trial and scores it. The job picks up where the trial's checkpoints are:
 * a promotion resumes the previous rung's end; a job run again after its worker was killed or
 * stopped resumes the last checkpoint inside its rung (written every quarter rung); a promotion
 * whose checkpoint is missing (a worker without the shared directory) trains the trial again
 * from scratch and its log says so. `signal` stops the job at the next step after a checkpoint
 * (TaskInterrupted); `onProgress` gets the trial's step and the step this job ends at.
 */
export async function runTrialJob(req: TrialRequest, opts: TaskContext = {}): Promise<TrialResult> {
  const { job, recipe, dir } = req;
  mkdirSync(dir, { recursive: true });
  const checkpointDir = join(dir, 'checkpoints');
  const { train, val, model, engine } = await trialData(recipe, req.valFraction, req.splitSeed);
  const steps = (resource: number, t: Timeline) => t.toSteps({ value: resource, unit: req.unit });
  const probe = timelineOf(train, recipe);
  const end = steps(job.resource, probe);
  const rungStart = steps(job.from, probe);
  if (end - rungStart < 1) {
    model.dispose();
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `rung ${job.rung} of trial ${job.trial} trains ${job.resource - job.from}${req.unit}, less than one ` +
        `step (${probe.stepsPerEpoch} steps an epoch): raise --min-resource`,
    );
  }
  const saved = savedStep(checkpointDir);
  if (saved > end || (job.from > 0 && saved >= 0 && saved < rungStart)) {
    model.dispose();
    throw new Error(
      `trial ${job.trial}'s newest checkpoint (step ${saved} in ${checkpointDir}) is outside rung ` +
        `${job.rung}'s steps ${rungStart}..${end}: the trial directory belongs to another search`,
    );
  }
  // Without the previous rung's checkpoint the trial starts again from step 0.
  const restarted = job.from > 0 && saved < 0;
  const start = restarted ? 0 : rungStart;
  const resumeStep = Math.max(saved, 0);
  const total = job.fidelity === 'repeated' ? end : steps(req.maxResource, probe);
  if (job.from === 0 && saved < 0) {
    writeJsonAtomic(join(dir, 'config.json'), {
      trial: job.trial,
      config: req.config,
      recipe,
      engine: { backend: engine.backend, threads: engine.threads },
    });
  }
  const base = recipeTrainerOptions(recipe, { train, test: val, model });
  const jsonl = new JsonlLogger(join(dir, 'log.jsonl'), {
    everySteps: recipe.logEvery,
    meta: { trial: job.trial, rung: job.rung, resource: job.resource, unit: req.unit },
  });
  if (restarted) {
    jsonl.log.write({
      event: 'restart',
      trial: job.trial,
      rung: job.rung,
      reason: `no checkpoint in ${checkpointDir} (this worker cannot reach the shared directory): trained again from step 0`,
    });
  }

  let lastProgress = 0;
  const progress: Callback = {
    onBatchEnd: (state) => {
      const now = performance.now();
      const step = state.timestamp.step;
      if (step < end && now - lastProgress < 500) return;
      lastProgress = now;
      opts.onProgress?.({ step, steps: end });
    },
  };
  const trainer = new Trainer({
    ...base,
    // Scored below on the validation split; no evaluation inside the run.
    evalData: undefined,
    maxDuration: total,
    schedules:
      job.fidelity === 'repeated' ? repeatedSchedules(recipe, probe, start, end) : base.schedules,
    callbacks: [jsonl, progress],
    // Every quarter rung, so a killed job loses at most a quarter of its work.
    checkpoint: {
      dir: checkpointDir,
      interval: Math.max(1, Math.ceil((end - start) / 4)),
      keep: 2,
    },
    resumeFrom: saved >= 0 ? checkpointDir : undefined,
  });
  try {
    const result = await trainer.fit({ duration: end - resumeStep, signal: opts.signal });
    const ts = result.timestamp;
    if (ts.step < end && opts.signal?.aborted) {
      jsonl.log.write({ event: 'interrupted', trial: job.trial, rung: job.rung, step: ts.step });
      throw new TaskInterrupted(
        `trial ${job.trial} rung ${job.rung} stopped at step ${ts.step} of ${end} (checkpointed)`,
      );
    }
    const score = await evaluate(trainer.state.model, val);
    jsonl.log.write({
      event: 'rung',
      trial: job.trial,
      rung: job.rung,
      resource: job.resource,
      unit: req.unit,
      fidelity: job.fidelity,
      step: ts.step,
      valAccuracy: score.accuracy,
      valLoss: score.loss,
    });
    return {
      score: score.accuracy,
      loss: score.loss,
      steps: ts.step,
      trainSeconds: ts.trainSeconds,
      stopReason: result.stopReason,
    };
  } finally {
    trainer.dispose();
    // A method may have rebuilt the model (BlurPool): free both.
    for (const m of new Set([model, base.model as tfl.LayersModel])) m.dispose();
  }
}
