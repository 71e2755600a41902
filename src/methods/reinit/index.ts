/**
 * Reinitialisation during training (the families compared by Zaidi et al., "When Does
 * Re-initialization Work?", 2023): periodically re-draw the last k layers (Zhou et al. 2022's
 * later-layer forgetting), or layer-wise (Alabdulmohsin et al. 2021: at the s-th event keep the
 * first s layers and re-draw all above). Shrink-and-perturb lives in ../shrink-perturb and shares
 * the schedule below. See README.md.
 */
import { deriveSeed, Rng } from '../../data/index.js';
import type { ParamSegment, ParamVector } from '../../engine/param-vector.js';
import { Event } from '../../train/events.js';
import type { Logger, Method } from '../../train/method.js';
import { isLayersModel } from '../../train/model.js';
import type { ModelLike, TrainState } from '../../train/state.js';
import { parseDuration, type DurationLike } from '../../time/index.js';
import { invalidOption } from '../../options.js';

/** When a reinitialisation method acts: every `every`, up to `until`. */
export interface ReinitSchedule {
  /** The period, e.g. '5ep' or '200ba' (default '1ep'). */
  every?: DurationLike;
  /** No event after this time (default: the whole run; never at its very end). */
  until?: DurationLike;
}

function checkDuration(method: string, option: string, d: unknown): DurationLike {
  try {
    if (typeof d === 'string') parseDuration(d);
    else if (typeof d !== 'number' && (typeof d !== 'object' || d === null)) throw new Error();
  } catch {
    throw invalidOption(method, option, d, "a duration such as '5ep', '200ba' or '0.5dur'");
  }
  return d as DurationLike;
}

/**
 * The schedule in steps: an event runs at BATCH_START of step s (the batches completed so far)
 * when s > 0, s is a multiple of `every` and s <= `until` — after an evaluation at that time, so
 * evaluations see trained, not freshly re-drawn, weights. A pure function of the step, so
 * resuming needs no state; `index` counts the events (1 at the first).
 */
export class StepSchedule {
  private everySteps = 0;
  private untilSteps = 0;

  constructor(
    readonly method: string,
    readonly schedule: ReinitSchedule,
  ) {
    checkDuration(method, 'every', schedule.every ?? '1ep');
    if (schedule.until !== undefined) checkDuration(method, 'until', schedule.until);
  }

  init(state: TrainState): void {
    this.everySteps = state.timeline.toSteps(this.schedule.every ?? '1ep');
    if (this.everySteps < 1) {
      throw invalidOption(this.method, 'every', this.schedule.every, "a period of at least '1ba'");
    }
    this.untilSteps =
      this.schedule.until === undefined
        ? state.maxSteps - 1
        : state.timeline.toSteps(this.schedule.until);
  }

  /** What a scheduled method matches: INIT (to size the schedule) and batches where it is due. */
  matches(event: Event, state: TrainState): boolean {
    return (
      event === Event.INIT || (event === Event.BATCH_START && this.due(state.timestamp.step) > 0)
    );
  }

  /** The event index due at this step (1, 2, ...), or 0 when none is. */
  due(step: number): number {
    if (this.everySteps < 1 || step === 0 || step % this.everySteps !== 0) return 0;
    return step <= this.untilSteps ? step / this.everySteps : 0;
  }
}

/** A group of segments sharing a layer name, in ParamVector order. */
export interface ParamLayer {
  name: string;
  segments: ParamSegment[];
}

/**
 * The parameterised layers of a ParamVector, input to output (its segment order), leaving out
 * `skip` (e.g. training-only layers).
 */
export function paramLayers(pv: ParamVector, skip: ReadonlySet<string> = new Set()): ParamLayer[] {
  const layers: ParamLayer[] = [];
  for (const segment of pv.segments) {
    if (skip.has(segment.layer)) continue;
    const last = layers[layers.length - 1];
    if (last && last.name === segment.layer) last.segments.push(segment);
    else layers.push({ name: segment.layer, segments: [segment] });
  }
  return layers;
}

/**
 * Fresh values for one weight: Glorot-uniform U(-l, l), l = sqrt(6 / (fanIn + fanOut)), for
 * matrices and filter banks (fanIn = receptive field x inputs, fanOut = receptive field x
 * outputs; tfjs's and Keras's default initialiser), 1 for normalisation gains (gamma), 0 for
 * biases and other vectors.
 */
export function freshValues(segment: ParamSegment, rng: Rng): Float32Array {
  const out = new Float32Array(segment.length);
  const shape = segment.shape;
  if (shape.length >= 2) {
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = receptive * shape[shape.length - 2];
    const fanOut = receptive * shape[shape.length - 1];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
  } else if (segment.kind === 'norm' && /gamma/i.test(segment.name)) {
    out.fill(1);
  }
  return out;
}

/**
 * The functional twin: re-draws every weight of the named layers (see freshValues) in the flat
 * parameters and writes them to the model; every other weight stays bit-identical.
 */
export function reinitializeLayers(pv: ParamVector, layers: readonly string[], seed: number): void {
  const known = new Set(pv.segments.map((s) => s.layer));
  for (const name of layers) {
    if (!known.has(name)) {
      throw invalidOption('reinit', 'layer', name, `one of ${[...known].join(', ')}`);
    }
  }
  const chosen = new Set(layers);
  const rng = new Rng(seed);
  for (const segment of pv.segments) {
    if (chosen.has(segment.layer))
      pv.ops.upload(pv.params, freshValues(segment, rng), segment.offset);
  }
  pv.applyMask(); // pruned weights stay pruned
  pv.writeBack();
}

/** Layers marked `trainingOnly` (ALASCA's auxiliary heads): not part of the network to re-draw. */
function trainingOnlyLayers(model: ModelLike): Set<string> {
  if (!isLayersModel(model)) return new Set();
  return new Set(
    model.layers
      .filter((l) => (l as { trainingOnly?: boolean }).trainingOnly === true)
      .map((l) => l.name),
  );
}

export type ReinitMode = 'last-k' | 'layerwise';

export interface ReinitOptions extends ReinitSchedule {
  /** 'last-k' (default): the last k layers at every event; 'layerwise': all above the s-th at the s-th event. */
  mode?: ReinitMode;
  /** Layers re-drawn by 'last-k' (default 1: the classifier). */
  k?: number;
}

const REINIT_STREAM = 0x7265696e;

export class Reinit implements Method {
  readonly name = 'reinit';
  readonly mode: ReinitMode;
  readonly k: number;
  private readonly schedule: StepSchedule;

  constructor(opts: ReinitOptions = {}) {
    this.mode = opts.mode ?? 'last-k';
    if (this.mode !== 'last-k' && this.mode !== 'layerwise') {
      throw invalidOption('reinit', 'mode', this.mode, "'last-k' or 'layerwise'");
    }
    this.k = opts.k ?? 1;
    if (!Number.isInteger(this.k) || this.k < 1)
      throw invalidOption('reinit', 'k', this.k, 'an integer >= 1');
    this.schedule = new StepSchedule('reinit', opts);
  }

  /** The layers the `index`-th event re-draws, out of `layers` (input to output). */
  layersAt(index: number, layers: readonly string[]): string[] {
    if (this.mode === 'last-k') return layers.slice(Math.max(0, layers.length - this.k));
    return layers.slice(index); // keep the first `index` layers
  }

  match(event: Event, state: TrainState): boolean {
    return this.schedule.matches(event, state);
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) {
      this.schedule.init(state);
      return;
    }
    const step = state.timestamp.step;
    const index = this.schedule.due(step);
    const layers = this.layersAt(
      index,
      paramLayers(state.pv, trainingOnlyLayers(state.model)).map((l) => l.name),
    );
    if (layers.length === 0) return;
    reinitializeLayers(state.pv, layers, deriveSeed(state.seed, REINIT_STREAM, step));
    log.log('reinit', { mode: this.mode, index, layers });
  }
}

/** `reinit({ mode: 'last-k', k: 1, every: '5ep' })`. */
export function reinit(opts: ReinitOptions = {}): Reinit {
  return new Reinit(opts);
}
