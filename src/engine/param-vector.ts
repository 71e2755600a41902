/**
 * ParamVector: a model's trainable weights seen as one flat float32 vector on a kernel backend,
 * cut into named segments (one per weight: layer, shape, kind). Gradients are gathered into one
 * flat buffer (one staging array, one upload; on the tfjs device backend one batched device
 * copy), a fused optimizer step runs once over all of it, and the weights are written back to
 * the model (one download, or one batched device copy). Pruning masks and per-segment
 * weight-decay factors ride along as flat vectors of the same length.
 *
 * The flat order is the model's `trainableWeights` order (the order tfjs's own optimizers use),
 * or the order of the variables given.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DeviceBuffer } from '../backend/device.js';
import { hostValues } from '../backend/host-backend.js';
import { UsageError } from '../errors.js';
import type { FlatOps, FlatVector, Segment } from '../kernels/index.js';
import { deviceLink } from './device-link.js';

export type SegmentKind = 'kernel' | 'bias' | 'norm' | 'embedding' | 'other';

export const SEGMENT_KINDS: readonly SegmentKind[] = [
  'kernel',
  'bias',
  'norm',
  'embedding',
  'other',
];

/** One weight's range of the flat vector. */
export interface ParamSegment extends Segment {
  /** The weight's (tf.Variable) name, e.g. 'dense_Dense1/kernel'. */
  readonly name: string;
  /** The layer's name ('' for plain variables without a '/' in their name). */
  readonly layer: string;
  readonly shape: readonly number[];
  readonly kind: SegmentKind;
}

/** Weight-decay factor (1 = the optimizer's full weightDecay, 0 = none); true = 1, false = 0. */
export type DecayFactor = number | boolean;

export interface DecayRule {
  /** A substring of, or a RegExp tested against, the segment name. */
  pattern: string | RegExp;
  decay: DecayFactor;
}

/**
 * Which weights get weight decay. The first matching rule wins; otherwise the kind decides.
 * Default: no decay on biases and normalisation gains/offsets (Bag of Tricks, He et al. 2019),
 * full decay on everything else.
 */
export interface DecayOptions {
  kinds?: Partial<Record<SegmentKind, DecayFactor>>;
  rules?: readonly DecayRule[];
}

export const DEFAULT_DECAY_BY_KIND: Readonly<Record<SegmentKind, number>> = Object.freeze({
  kernel: 1,
  bias: 0,
  norm: 0,
  embedding: 1,
  other: 1,
});

export interface ParamVectorOptions {
  /** The weight-decay mask installed at creation (default: DEFAULT_DECAY_BY_KIND). */
  decay?: DecayOptions;
  /** Overrides the inferred kind of a weight (return undefined to keep the inferred one). */
  kindOf?: (name: string, shape: readonly number[]) => SegmentKind | undefined;
}

/** Plain-variable models: `{ variables, forward }`, or just the variables. */
export type ParamSource =
  tfl.LayersModel | { variables: readonly tf.Variable[] } | readonly tf.Variable[];

interface Entry {
  readonly variable: tf.Variable;
  readonly segment: ParamSegment;
}

// ---- kind inference -----------------------------------------------------------------------

/** Lower-case words of a name: split on separators and camelCase, trailing digits dropped. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.toLowerCase().replace(/\d+$/, ''))
    .filter((w) => w.length > 0);
}

const EMBEDDING_WORDS = new Set(['pos', 'position', 'cls', 'token', 'tokens']);

/**
 * The kind of a weight from its name, its layer's class and its rank. Order matters: a bias is a
 * bias whatever its layer; gains/offsets of normalisation layers are 'norm'; anything called a
 * kernel is a kernel (so 'transpose' or 'post' layers are not mistaken for embeddings); then
 * position embeddings and class tokens by name.
 */
export function inferKind(
  name: string,
  layerClass: string | undefined,
  shape: readonly number[],
): SegmentKind {
  const last = wordsOf(name.slice(name.lastIndexOf('/') + 1));
  const words = wordsOf(name);
  if (last.includes('bias')) return 'bias';
  if (
    (layerClass ?? '').includes('Normalization') ||
    last.includes('gamma') ||
    last.includes('beta')
  )
    return 'norm';
  if (last.some((w) => w.includes('kernel'))) return 'kernel';
  if (
    layerClass === 'Embedding' ||
    words.some((w) => w.startsWith('embed') || EMBEDDING_WORDS.has(w))
  )
    return 'embedding';
  // Plain variables carry no layer class: a matrix or filter bank is a kernel.
  if (layerClass === undefined && shape.length >= 2) return 'kernel';
  return 'other';
}

// ---- decay factors ------------------------------------------------------------------------

function factorValue(where: string, value: DecayFactor): number {
  const factor = typeof value === 'boolean' ? Number(value) : value;
  if (!Number.isFinite(factor) || factor < 0) {
    throw new UsageError(
      'ANNEAL_BAD_DECAY_OPTION',
      `${where} is ${String(value)}, expected a weight-decay factor >= 0 (or true/false); ` +
        `use 0 or false for no decay, 1 or true for the optimizer's full weightDecay.`,
    );
  }
  return factor;
}

function ruleMatches(rule: DecayRule, name: string): boolean {
  return typeof rule.pattern === 'string' ? name.includes(rule.pattern) : rule.pattern.test(name);
}

/** The weight-decay factor of each segment under `opts` (checked: finite and >= 0). */
export function decayFactors(segments: readonly ParamSegment[], opts: DecayOptions = {}): number[] {
  const byKind = { ...DEFAULT_DECAY_BY_KIND };
  for (const [kind, value] of Object.entries(opts.kinds ?? {})) {
    if (value === undefined) continue;
    if (!(SEGMENT_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(
        'ANNEAL_BAD_DECAY_OPTION',
        `decay.kinds has the key '${kind}', expected one of ${SEGMENT_KINDS.join(', ')}.`,
      );
    }
    byKind[kind as SegmentKind] = factorValue(`decay.kinds.${kind}`, value as DecayFactor);
  }
  const rules = (opts.rules ?? []).map((rule, i) => ({
    rule,
    factor: factorValue(`decay.rules[${i}].decay`, rule.decay),
  }));
  return segments.map(
    (s) => rules.find(({ rule }) => ruleMatches(rule, s.name))?.factor ?? byKind[s.kind],
  );
}

// ---- the vector ---------------------------------------------------------------------------

function isLayersModel(source: ParamSource): source is tfl.LayersModel {
  return !Array.isArray(source) && 'trainableWeights' in source && 'layers' in source;
}

/** Every layer of a model, nested models' layers included. */
function allLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((layer) =>
    'layers' in layer ? [layer, ...allLayers(layer as unknown as tfl.LayersModel)] : [layer],
  );
}

function layerOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

export class ParamVector {
  readonly segments: readonly ParamSegment[];
  readonly length: number;
  /** The weights, the truth between writeBack() calls. */
  readonly params: FlatVector;
  /** The gradient of the last setGrads(). */
  readonly grads: FlatVector;
  private readonly entries: readonly Entry[];
  private readonly byName: ReadonlyMap<string, Entry>;
  /** Reused to gather gradients; ops.upload copies it into the kernel vector. */
  private readonly gradStaging: Float32Array;
  /** The model's variables, in segment order. */
  private readonly variables: readonly tf.Variable[];
  /** Views of the device vectors' segments (segmentViews). */
  private readonly views = new Map<DeviceBuffer, readonly DeviceBuffer[]>();
  private maskVector: FlatVector | null = null;
  private decayVector: FlatVector | null = null;
  private disposed = false;

  private constructor(
    readonly ops: FlatOps,
    variables: readonly { variable: tf.Variable; layer: string; layerClass?: string }[],
    opts: ParamVectorOptions,
  ) {
    let offset = 0;
    this.entries = variables.map(({ variable, layer, layerClass }) => {
      if (variable.dtype !== 'float32') {
        throw new UsageError(
          'ANNEAL_PARAM_DTYPE',
          `ParamVector: variable '${variable.name}' has dtype ${variable.dtype}, expected float32; ` +
            `cast the model's weights to float32.`,
        );
      }
      const shape = [...variable.shape];
      const kind =
        opts.kindOf?.(variable.name, shape) ?? inferKind(variable.name, layerClass, shape);
      const segment: ParamSegment = Object.freeze({
        name: variable.name,
        layer,
        shape,
        kind,
        offset,
        length: variable.size,
      });
      offset += variable.size;
      return { variable, segment };
    });
    this.segments = Object.freeze(this.entries.map((e) => e.segment));
    this.variables = this.entries.map((e) => e.variable);
    this.byName = new Map(this.entries.map((e) => [e.segment.name, e]));
    if (this.byName.size !== this.entries.length) {
      const names = this.segments.map((s) => s.name);
      const repeated = names.filter((name, i) => names.indexOf(name) !== i);
      throw new UsageError(
        'ANNEAL_PARAM_DUPLICATE',
        `ParamVector: the weight(s) ${[...new Set(repeated)].join(', ')} appear more than once; ` +
          `pass each variable once (gradients are matched by name).`,
      );
    }
    // Checked before anything is allocated, so bad options leak no kernel memory.
    const factors = decayFactors(this.segments, opts.decay);
    this.length = offset;
    this.gradStaging = new Float32Array(offset);
    this.params = ops.alloc(offset);
    this.grads = ops.alloc(offset);
    this.readFromModel();
    this.installDecay(factors);
  }

  /** The trainable weights of a tfl.LayersModel, or of plain variables. */
  static create(source: ParamSource, ops: FlatOps, opts: ParamVectorOptions = {}): ParamVector {
    return isLayersModel(source)
      ? ParamVector.fromModel(source, ops, opts)
      : ParamVector.fromVariables(
          Array.isArray(source)
            ? source
            : (source as { variables: readonly tf.Variable[] }).variables,
          ops,
          opts,
        );
  }

  static fromModel(
    model: tfl.LayersModel,
    ops: FlatOps,
    opts: ParamVectorOptions = {},
  ): ParamVector {
    const layerByWeight = new Map<unknown, tfl.layers.Layer>();
    for (const layer of allLayers(model)) {
      for (const weight of layer.trainableWeights) layerByWeight.set(weight, layer);
    }
    const variables = model.trainableWeights.map((weight) => {
      const layer = layerByWeight.get(weight);
      return {
        variable: weight.read() as tf.Variable,
        layer: layer?.name ?? layerOf(weight.name),
        layerClass: layer?.getClassName() ?? '',
      };
    });
    return new ParamVector(ops, variables, opts);
  }

  static fromVariables(
    variables: readonly tf.Variable[],
    ops: FlatOps,
    opts: ParamVectorOptions = {},
  ): ParamVector {
    return new ParamVector(
      ops,
      variables.map((variable) => ({ variable, layer: layerOf(variable.name) })),
      opts,
    );
  }

  /** The pruning mask (1 keep, 0 pruned), or null. Set it with setMask(). */
  get mask(): FlatVector | null {
    return this.maskVector;
  }

  /** The per-element weight-decay factors, or null when every weight decays fully. */
  get decay(): FlatVector | null {
    return this.decayVector;
  }

  segment(name: string): ParamSegment {
    const entry = this.byName.get(name);
    if (!entry) {
      throw new UsageError(
        'ANNEAL_PARAM_UNKNOWN',
        `ParamVector: no weight named '${name}'; the weights are ${this.segments.map((s) => s.name).join(', ')}.`,
      );
    }
    return entry.segment;
  }

  segmentsWhere(pred: (segment: ParamSegment) => boolean): ParamSegment[] {
    return this.segments.filter(pred);
  }

  /**
   * Gathers gradients into `grads`: an array in the order of `segments` (null for a weight
   * without gradient), or a map by variable name as tf.variableGrads returns (weights missing from
   * it, i.e. not connected to the loss, get a zero gradient; names of other variables are
   * ignored). The tensors stay the caller's to dispose.
   */
  setGrads(grads: readonly (tf.Tensor | null | undefined)[] | tf.NamedTensorMap): void {
    this.checkAlive('setGrads');
    const list = Array.isArray(grads) ? grads : this.listFromMap(grads as tf.NamedTensorMap);
    if (list.length !== this.entries.length) {
      throw new UsageError(
        'ANNEAL_PARAM_GRADS',
        `setGrads: got ${list.length} gradients for ${this.entries.length} weights; pass one per ` +
          `weight, in the order of ParamVector.segments (null where a weight has none).`,
      );
    }
    list.forEach((grad, i) => {
      const { segment } = this.entries[i];
      if (grad && grad.size !== segment.length) {
        throw new UsageError(
          'ANNEAL_PARAM_GRADS',
          `setGrads: the gradient of '${segment.name}' has shape [${grad.shape}], expected ` +
            `[${segment.shape}]; pass the gradients in the order of ParamVector.segments.`,
        );
      }
    });
    const device = deviceLink(this.grads);
    if (device) {
      // On the device the gradients never leave it: one batched copy into the flat vector.
      const views = this.segmentViews(device.vector);
      const dsts: DeviceBuffer[] = [];
      const srcs: tf.Tensor[] = [];
      list.forEach((grad, i) => {
        if (grad) {
          dsts.push(views[i]);
          srcs.push(grad);
        } else {
          device.backend.zero(views[i]);
        }
      });
      device.backend.copyInto(dsts, srcs);
    } else {
      this.entries.forEach(({ segment }, i) => {
        const grad = list[i];
        const target = this.gradStaging.subarray(segment.offset, segment.offset + segment.length);
        if (grad === null || grad === undefined) target.fill(0);
        // On anneal-cpu, straight from the gradient's buffer (dataSync would copy it first).
        else target.set(hostValues(grad));
      });
      this.ops.upload(this.grads, this.gradStaging);
    }
    // Pruned weights get no gradient, so optimizer state (moments, momentum) stays 0 for them.
    if (this.maskVector) this.ops.applyMask(this.grads, this.maskVector);
  }

  private listFromMap(grads: tf.NamedTensorMap): (tf.Tensor | undefined)[] {
    const list = this.entries.map(({ segment }) => grads[segment.name]);
    if (list.every((g) => g === undefined) && this.entries.length > 0) {
      throw new UsageError(
        'ANNEAL_PARAM_GRADS',
        `setGrads: none of the gradient names (${Object.keys(grads).join(', ') || 'none'}) is a ` +
          `weight of this ParamVector (${this.segments.map((s) => s.name).join(', ')}); compute ` +
          `them with tf.variableGrads over the same variables.`,
      );
    }
    return list;
  }

  /**
   * Puts `weights` (this layout) into params and the model, and returns the live weights for
   * restore(): for evaluating other weights (an average, Entropy-SGD's outer weights) in place.
   */
  swapIn(weights: FlatVector | Float32Array): FlatVector {
    const live = this.ops.alloc(this.length);
    this.ops.copy(live, this.params);
    if (weights instanceof Float32Array) this.ops.upload(this.params, weights);
    else this.ops.copy(this.params, weights);
    this.writeBack();
    return live;
  }

  /** Puts back the live weights swapIn() returned (and frees them). */
  restore(live: FlatVector): void {
    this.ops.copy(this.params, live);
    this.ops.free(live);
    this.writeBack();
  }

  /**
   * Assigns the flat weights to the model's variables, no tensor left behind: one download, or
   * on the tfjs device backend one batched device copy (into the variables' own buffers where
   * nothing else shares them).
   */
  writeBack(): void {
    this.checkAlive('writeBack');
    const device = deviceLink(this.params);
    if (device) {
      device.backend.overwrite(this.variables, this.segmentViews(device.vector));
      return;
    }
    // tfjs-cpu (and tfjs-node) keep a reference to the array a tensor is made from instead of
    // copying it, so each call downloads into a fresh array that the variables may then share.
    const host = this.ops.download(this.params);
    for (const { variable, segment } of this.entries) {
      const values = host.subarray(segment.offset, segment.offset + segment.length);
      const value = tf.tensor(values, variable.shape, 'float32');
      variable.assign(value);
      value.dispose(); // the variable holds its own reference to the data
    }
  }

  /** Copies the model's variables into the flat weights (one upload), pruned entries zeroed. */
  readFromModel(): void {
    this.checkAlive('readFromModel');
    const device = deviceLink(this.params);
    if (device) {
      device.backend.copyInto(this.segmentViews(device.vector), this.variables);
    } else {
      const host = new Float32Array(this.length);
      for (const { variable, segment } of this.entries) {
        host.set(hostValues(variable), segment.offset);
      }
      this.ops.upload(this.params, host);
    }
    this.applyMask();
  }

  /** `vector`'s segments as views (params' or grads'), made once: no native call a step. */
  private segmentViews(vector: DeviceBuffer): readonly DeviceBuffer[] {
    let views = this.views.get(vector);
    if (!views) {
      views = this.segments.map((s) => vector.view(s.offset, s.length));
      this.views.set(vector, views);
    }
    return views;
  }

  /**
   * Builds and installs the weight-decay mask from per-kind and per-name options (see
   * DecayOptions), and returns it; returns null (and installs none) when every weight decays
   * fully, which saves the kernels a read per element.
   */
  decayMask(opts: DecayOptions = {}): FlatVector | null {
    this.checkAlive('decayMask');
    return this.installDecay(decayFactors(this.segments, opts));
  }

  private installDecay(factors: readonly number[]): FlatVector | null {
    this.freeVector(this.decayVector);
    this.decayVector = null;
    if (factors.every((f) => f === 1)) return null;
    const host = new Float32Array(this.length);
    this.segments.forEach((s, i) => host.fill(factors[i], s.offset, s.offset + s.length));
    this.decayVector = this.ops.fromArray(host);
    return this.decayVector;
  }

  /**
   * Installs a pruning mask (1 keep, 0 pruned; copied, so the caller keeps what it passed) and
   * zeroes the pruned weights at once; null removes it. Optimizers pass the mask as the kernels'
   * lrMask, so pruned weights stay exactly zero over steps without another pass; setGrads zeroes
   * their gradients, so optimizer state stays zero for them too.
   */
  setMask(mask: Float32Array | FlatVector | null): void {
    this.checkAlive('setMask');
    if (mask !== null && mask.length !== this.length) {
      throw new UsageError(
        'ANNEAL_PARAM_MASK',
        `setMask: the mask has ${mask.length} elements but the ParamVector has ${this.length}; ` +
          `build it over ParamVector.length (one entry per weight element).`,
      );
    }
    if (mask === null) {
      this.freeVector(this.maskVector);
      this.maskVector = null;
      return;
    }
    this.maskVector ??= this.ops.alloc(this.length);
    if (mask instanceof Float32Array) this.ops.upload(this.maskVector, mask);
    else this.ops.copy(this.maskVector, mask);
    this.applyMask();
  }

  /** params *= mask (no-op without a mask). */
  applyMask(): void {
    this.checkAlive('applyMask');
    if (this.maskVector) this.ops.applyMask(this.params, this.maskVector);
  }

  /** Frees the kernel vectors; the model's variables are untouched. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.views.clear();
    for (const v of [this.params, this.grads, this.maskVector, this.decayVector])
      this.freeVector(v);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private freeVector(v: FlatVector | null): void {
    if (v?.alive) this.ops.free(v);
  }

  private checkAlive(op: string): void {
    if (this.disposed) {
      throw new UsageError(
        'ANNEAL_PARAM_DISPOSED',
        `ParamVector.${op}: this ParamVector was disposed; create a new one with ParamVector.create().`,
      );
    }
  }
}
