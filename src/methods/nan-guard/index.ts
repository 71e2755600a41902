/**
 * NaN/Inf guard: after the backward pass, count the non-finite gradient entries (one kernel
 * reduction over the flat gradient) and check the loss; on a hit, skip the optimizer step or
 * stop the run, and report which weights went non-finite. See README.md.
 */
import { UsageError } from '../../errors.js';
import type { ParamVector } from '../../engine/param-vector.js';
import type { FlatVector } from '../../kernels/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';

/** How the guard's stop reasons begin; `isDivergence` tells them from other stops. */
const NAN_GUARD_STOP = 'NaN guard';

export type NanPolicy = 'skip' | 'stop';

export interface NanGuardOptions {
  /** 'skip' the step and go on (default), or 'stop' the run (the step is skipped too). */
  policy?: NanPolicy;
}

export interface NonFiniteSegment {
  name: string;
  /** Non-finite entries in this segment. */
  count: number;
  offset: number;
  length: number;
}

/**
 * The functional twin: the segments of `vector` (default the gradient) holding NaN or ±Inf,
 * with how many each, in the ParamVector's order. One download; meant for the rare bad step.
 */
export function findNonFiniteSegments(
  pv: ParamVector,
  vector: FlatVector = pv.grads,
): NonFiniteSegment[] {
  const host = pv.ops.download(vector);
  const found: NonFiniteSegment[] = [];
  for (const s of pv.segments) {
    let count = 0;
    for (let i = s.offset; i < s.offset + s.length; i++) if (!Number.isFinite(host[i])) count++;
    if (count > 0) found.push({ name: s.name, count, offset: s.offset, length: s.length });
  }
  return found;
}

export class NanGuard implements Method {
  readonly name = 'nan-guard';
  readonly policy: NanPolicy;
  /** Steps skipped so far. */
  skipped = 0;

  constructor(opts: NanGuardOptions = {}) {
    this.policy = opts.policy ?? 'skip';
    if (this.policy !== 'skip' && this.policy !== 'stop') {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `nan-guard: policy = ${JSON.stringify(opts.policy)} is not valid: expected 'skip' or 'stop'`,
      );
    }
  }

  match(event: Event): boolean {
    return event === Event.AFTER_BACKWARD;
  }

  apply(_event: Event, state: TrainState, log: Logger): void {
    const badGrads = state.ops.countNonFinite(state.pv.grads);
    const badLoss = !Number.isFinite(state.lossValue);
    if (badGrads === 0 && !badLoss) return;
    const segments = badGrads > 0 ? findNonFiniteSegments(state.pv) : [];
    state.skipStep = true;
    this.skipped++;
    state.metrics['nan-guard/skipped'] = this.skipped;
    const where =
      segments.length > 0
        ? `non-finite gradient in ${segments.map((s) => `'${s.name}' (${s.count} of ${s.length})`).join(', ')}`
        : `non-finite loss ${state.lossValue}`;
    log.log('nan-guard', {
      policy: this.policy,
      loss: String(state.lossValue),
      nonFinite: badGrads,
      segments: segments.map(({ name, count }) => ({ name, count })),
    });
    if (this.policy === 'stop' && !state.stopRequested) {
      state.stopRequested = true;
      state.stopReason = `${NAN_GUARD_STOP}: ${where} at step ${state.timestamp.step}; the step was skipped`;
    }
  }

  stateDict(): MethodState {
    return { skipped: this.skipped };
  }

  loadStateDict(saved: MethodState): void {
    this.skipped = saved.skipped as number;
  }
}

/** Whether a run's stop reason is the NaN guard's: the run diverged. */
export function isDivergence(stopReason: string | null | undefined): boolean {
  return stopReason?.startsWith(`${NAN_GUARD_STOP}:`) ?? false;
}

export function nanGuard(opts: NanGuardOptions = {}): NanGuard {
  return new NanGuard(opts);
}
