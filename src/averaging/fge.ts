/**
 * Fast Geometric Ensembling (Garipov, Izmailov, Podoprikhin, Vetrov & Wilson 2018): after a
 * warm start, a cyclic learning rate with short cycles of c steps,
 *   t = ((i mod c) + 1) / c,  lr = (1 - 2t) lr1 + 2t lr2 for t <= 1/2, (2 - 2t) lr2 + (2t - 1) lr1 after,
 * (i = steps since `start`), and a snapshot of the weights at each cycle's minimum (t = 1/2).
 * The ensemble predicts with the mean of the snapshots' softmax outputs; evaluateEnsemble gives
 * its accuracy for every number of members. See README.md.
 */
import { defineSchedule, type Schedule } from '../schedules/index.js';
import { invalidOption } from '../options.js';
import { Event } from '../train/events.js';
import type { Logger, Method, MethodState } from '../train/method.js';
import type { TrainState } from '../train/state.js';
import type { DurationLike } from '../time/index.js';
import { evaluateEnsemble, type EnsembleEvaluation } from './evaluate.js';

export interface FgeOptions {
  /** End of the warm start, when cycling begins (default '0.5dur'). */
  start?: DurationLike;
  /** Cycle length (default '2ep'; the paper uses 2-4 epochs). At least 2 steps. */
  cycle?: DurationLike;
  /** The cycle's largest lr (absolute; default 0.05). */
  lr1?: number;
  /** The cycle's smallest lr, where snapshots are taken (default 0.0005). */
  lr2?: number;
  /** Evaluate the ensemble (of 1..K members) at the end of the run (default true). */
  evalEnsemble?: boolean;
}

/** FGE's cyclic lr at step i after the warm start, for a cycle of c steps. */
export function fgeSchedule(opts: { cycleSteps: number; lr1: number; lr2: number }): Schedule {
  const { cycleSteps: c, lr1, lr2 } = opts;
  if (!(Number.isInteger(c) && c >= 2)) throw invalidOption('fge', 'cycle', c, 'at least 2 steps');
  return defineSchedule('fge', (i) => {
    const t = ((i % c) + 1) / c;
    return t <= 0.5 ? (1 - 2 * t) * lr1 + 2 * t * lr2 : (2 - 2 * t) * lr2 + (2 * t - 1) * lr1;
  });
}

export class Fge implements Method {
  readonly name = 'fge';
  private readonly start: DurationLike;
  private readonly cycle: DurationLike;
  private readonly lr1: number;
  private readonly lr2: number;
  private readonly evalEnsemble: boolean;
  private startStep = 0;
  private cycleSteps = 2;
  private schedule: Schedule | null = null;
  private snapshots: Float32Array[] = [];
  private lastEvaluation: EnsembleEvaluation | null = null;

  constructor(opts: FgeOptions = {}) {
    this.start = opts.start ?? '0.5dur';
    this.cycle = opts.cycle ?? '2ep';
    this.lr1 = opts.lr1 ?? 0.05;
    this.lr2 = opts.lr2 ?? 0.0005;
    this.evalEnsemble = opts.evalEnsemble ?? true;
    for (const [k, v] of [
      ['lr1', this.lr1],
      ['lr2', this.lr2],
    ] as const) {
      if (!(Number.isFinite(v) && v >= 0)) throw invalidOption(this.name, k, v, 'a finite lr >= 0');
    }
  }

  /** The snapshots taken so far (host copies). */
  get members(): readonly Float32Array[] {
    return this.snapshots;
  }

  /** The end-of-run ensemble evaluation, when it ran. */
  get evaluation(): EnsembleEvaluation | null {
    return this.lastEvaluation;
  }

  match(event: Event): boolean {
    return (
      event === Event.INIT ||
      event === Event.BEFORE_STEP ||
      event === Event.BATCH_END ||
      event === Event.FIT_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    const step = state.timestamp.step;
    if (event === Event.INIT) {
      this.startStep = state.timeline.toSteps(this.start);
      this.cycleSteps = state.timeline.toSteps(this.cycle);
      this.schedule = fgeSchedule({ cycleSteps: this.cycleSteps, lr1: this.lr1, lr2: this.lr2 });
    } else if (event === Event.BEFORE_STEP && step >= this.startStep) {
      state.optimizer.hyper.lr = this.schedule!(step - this.startStep);
      state.metrics['fge/lr'] = state.optimizer.hyper.lr;
    } else if (event === Event.BATCH_END && step > this.startStep) {
      if ((step - this.startStep) % this.cycleSteps === Math.round(this.cycleSteps / 2)) {
        this.snapshots.push(state.ops.download(state.pv.params));
        state.metrics['fge/members'] = this.snapshots.length;
      }
    } else if (event === Event.FIT_END && state.runComplete && this.evalEnsemble) {
      if (!state.evalData || this.snapshots.length === 0) return;
      this.lastEvaluation = evaluateEnsemble(
        state.model,
        state.pv,
        this.snapshots,
        state.evalData,
        {
          refreshData: state.trainData,
        },
      );
      const last = this.lastEvaluation.ensemble.at(-1)!;
      state.metrics['fge/eval/accuracy'] = last.accuracy;
      state.metrics['fge/eval/nll'] = last.nll;
      log.log('fge', {
        members: this.snapshots.length,
        ensembleAccuracy: this.lastEvaluation.ensemble.map((e) => e.accuracy),
      });
    }
  }

  stateDict(): MethodState {
    return { snapshots: [...this.snapshots] };
  }

  loadStateDict(saved: MethodState): void {
    this.snapshots = (saved.snapshots as Float32Array[]).map((s) => s.slice());
  }
}

export function fge(opts: FgeOptions = {}): Fge {
  return new Fge(opts);
}
