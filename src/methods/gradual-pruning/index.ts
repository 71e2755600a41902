/**
 * Gradual magnitude pruning during training (Zhu & Gupta 2017, "To prune, or not to prune"):
 * every `frequency` steps from `start` to `end` the mask grows to the sparsity
 * s_t = s_f + (s_i - s_f)(1 - (t - t_0) / (n dt))^3, chosen by magnitude over the prunable
 * weights (global or per layer); pruned weights stay exactly 0 (ParamVector mask, masked
 * gradients and optimizer state). The baseline that IMP's prune-retrain cycles are compared with.
 * See README.md.
 */
import { installMask } from '../../pruning/apply.js';
import {
  checkSparsity,
  computeMask,
  prunableSegments,
  type PrunableOptions,
} from '../../pruning/criteria.js';
import { gradualSparsity } from '../../pruning/schedule.js';
import type { Schedule } from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import type { DurationLike } from '../../time/index.js';
import { invalidOption } from '../../options.js';

export const GRADUAL_CRITERIA = ['global-magnitude', 'layer-magnitude', 'random'] as const;

export interface GradualPruningOptions extends PrunableOptions {
  /** s_f: the final fraction of the prunable weights pruned. */
  target: number;
  /** s_i: the sparsity of the first pruning step (default 0). */
  initial?: number;
  /** t_0, the first pruning step (default 0). */
  start?: DurationLike;
  /** When the final sparsity is reached (default '0.75dur': the last quarter fine-tunes). */
  end?: DurationLike;
  /** dt, steps between mask updates (default '0.05dur': 15 updates with the defaults). */
  frequency?: DurationLike;
  /** Default 'global-magnitude'. */
  criterion?: (typeof GRADUAL_CRITERIA)[number];
  /** Seed of the random criterion (default 0). */
  seed?: number;
}

/** The functional twin: Zhu & Gupta's sparsity at `step` (all lengths in steps). */
export function gradualSparsityAt(
  step: number,
  opts: { target: number; initial?: number; start: number; end: number; frequency?: number },
): number {
  return gradualSparsity({ ...opts, final: opts.target })(step);
}

export class GradualPruning implements Method {
  readonly name = 'gradual-pruning';
  private schedule: Schedule | null = null;
  private mask: Float32Array | null = null;
  private sparsity = 0;
  /** A mask restored from a checkpoint, installed at the next batch. */
  private pending = false;

  constructor(readonly options: GradualPruningOptions) {
    checkSparsity('gradual-pruning: target', options.target, false);
    const criterion = options.criterion ?? 'global-magnitude';
    if (!(GRADUAL_CRITERIA as readonly string[]).includes(criterion)) {
      throw invalidOption(
        'gradual-pruning',
        'criterion',
        criterion,
        `one of ${GRADUAL_CRITERIA.join(', ')} (the gradient criteria need an extra pass: use IMP)`,
      );
    }
  }

  match(event: Event): boolean {
    return event === Event.BATCH_START;
  }

  apply(_event: Event, state: TrainState, log: Logger): void {
    if (this.pending && this.mask) installMask(state.pv, this.mask);
    this.pending = false;
    const o = this.options;
    this.schedule ??= gradualSparsity({
      initial: o.initial ?? 0,
      final: o.target,
      start: state.timeline.toSteps(o.start ?? 0),
      end: state.timeline.toSteps(o.end ?? '0.75dur'),
      frequency: Math.max(1, state.timeline.toSteps(o.frequency ?? '0.05dur')),
    });
    const sparsity = this.schedule(state.timestamp.step);
    if (sparsity <= this.sparsity) return;
    const mask = computeMask(state.pv, {
      criterion: o.criterion ?? 'global-magnitude',
      sparsity,
      segments: prunableSegments(state.pv, o),
      previous: this.mask,
      seed: o.seed,
    });
    installMask(state.pv, mask, state.optimizer);
    this.mask = mask;
    this.sparsity = sparsity;
    log.log('gradual-pruning', { sparsity });
  }

  stateDict(): MethodState {
    return { sparsity: this.sparsity, mask: this.mask };
  }

  loadStateDict(state: MethodState): void {
    this.sparsity = state.sparsity as number;
    this.mask = (state.mask as Float32Array | null) ?? null;
    this.pending = this.mask !== null;
  }
}

export function gradualPruning(options: GradualPruningOptions): GradualPruning {
  return new GradualPruning(options);
}
