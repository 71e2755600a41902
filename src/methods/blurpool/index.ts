/**
 * BlurPool (anti-aliased downsampling, Zhang 2019) as a model transform: every strided Conv2D
 * becomes a stride-1 conv followed by BlurPool2D(stride), every strided max/average pool becomes
 * a stride-1 pool followed by BlurPool2D(stride) ("MaxBlurPool"). The blur layer is the models
 * module's BlurPool2D (one implementation). Weights are copied, and output shapes do not change:
 * with 'valid' padding floor((H - k) / s) + 1 = ceil((H - k + 1) / s), with 'same' ceil(H / s).
 *
 * tfjs cannot swap layers inside a built model (Composer replaces PyTorch modules in place), so
 * the transform runs before the Trainer is built: `applyBlurPool(model)`, or for src/models'
 * ResNet its own `blurPool: true` option. The `blurPool()` method then checks at INIT that the
 * model it trains has been transformed and logs the parameter/FLOP change. See README.md.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../errors.js';
import { invalidOption } from '../../options.js';
import { BlurPool2D, MAX_BLUR_FILTER_SIZE, type BlurPadding } from '../../models/blurpool.js';
import { rebuildModel } from '../../models/rebuild.js';
import { Event } from '../../train/events.js';
import type { Logger, Method } from '../../train/method.js';
import { isLayersModel } from '../../train/model.js';
import type { TrainState } from '../../train/state.js';

export interface BlurPoolOptions {
  /** Binomial filter size of the blur (default 3). */
  filterSize?: number;
  /** Border handling of the blur (default 'reflect'). */
  padding?: BlurPadding;
  /** Replace strided Conv2D layers (default true). */
  replaceConvs?: boolean;
  /** Replace strided MaxPooling2D / AveragePooling2D layers (default true). */
  replacePools?: boolean;
}

/** Analytic cost of one layer for ONE sample. FLOPs = 2 x multiply-accumulates for conv/dense/blur. */
export interface LayerCost {
  name: string;
  className: string;
  params: number;
  flops: number;
}

export interface ModelCost {
  params: number;
  flops: number;
  layers: LayerCost[];
}

export interface BlurPoolResult {
  model: tfl.LayersModel;
  /** Names of the original layers that were replaced. */
  replaced: string[];
  before: ModelCost;
  after: ModelCost;
}

const DOWNSAMPLING_CLASSES = new Set(['Conv2D', 'MaxPooling2D', 'AveragePooling2D']);

function checkOptions(opts: BlurPoolOptions): Required<BlurPoolOptions> {
  const filterSize = opts.filterSize ?? 3;
  if (!Number.isInteger(filterSize) || filterSize < 1 || filterSize > MAX_BLUR_FILTER_SIZE) {
    throw invalidOption(
      'blurpool',
      'filterSize',
      filterSize,
      `an integer from 1 to ${MAX_BLUR_FILTER_SIZE}`,
    );
  }
  const padding = opts.padding ?? 'reflect';
  if (padding !== 'reflect' && padding !== 'zero') {
    throw invalidOption('blurpool', 'padding', padding, "'reflect' or 'zero'");
  }
  const flags = {
    replaceConvs: opts.replaceConvs ?? true,
    replacePools: opts.replacePools ?? true,
  };
  for (const [key, value] of Object.entries(flags)) {
    if (typeof value !== 'boolean') throw invalidOption('blurpool', key, value, 'true or false');
  }
  return { filterSize, padding, ...flags };
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

/** The stride of a strided layer this transform replaces, else null. */
function downsamplingStride(
  layer: tfl.layers.Layer,
  opts: Required<BlurPoolOptions>,
): number | null {
  const cls = layer.getClassName();
  if (!DOWNSAMPLING_CLASSES.has(cls)) return null;
  if (cls === 'Conv2D' ? !opts.replaceConvs : !opts.replacePools) return null;
  const [sh, sw] = pair(layer.getConfig().strides);
  // BlurPool2D subsamples both axes alike; unequal strides are left as they are.
  return sh > 1 && sh === sw ? sh : null;
}

function shapeOf(t: tfl.SymbolicTensor): number[] {
  return t.shape.slice(1).map((d) => d ?? 0);
}

function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/**
 * FLOPs of one layer for one sample, counted analytically: Conv2D 2·outH·outW·filters·kH·kW·inC,
 * DepthwiseConv2D and BlurPool2D 2·outH·outW·C·k·k (times the depth multiplier), Dense 2·in·out,
 * pooling one operation per window element per output. Biases, activations, normalisation and
 * additions are not counted (they are elementwise and do not change under this transform).
 */
export function layerFlops(layer: tfl.layers.Layer, inShape: number[], outShape: number[]): number {
  const cfg = layer.getConfig();
  const outputs = product(outShape);
  switch (layer.getClassName()) {
    case 'Conv2D': {
      const [kh, kw] = pair(cfg.kernelSize);
      return 2 * outputs * kh * kw * inShape[inShape.length - 1];
    }
    case 'DepthwiseConv2D': {
      const [kh, kw] = pair(cfg.kernelSize);
      return 2 * outputs * kh * kw;
    }
    case BlurPool2D.className:
      return 2 * outputs * (layer as BlurPool2D).filterSize ** 2;
    case 'Dense':
      return 2 * outputs * inShape[inShape.length - 1];
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return outputs * product(pair(cfg.poolSize));
    default:
      return 0;
  }
}

/** Parameters and analytic per-sample FLOPs of every layer of a model. */
export function modelCost(model: tfl.LayersModel): ModelCost {
  const layers = model.layers.map((layer) => {
    const node = layer.inboundNodes[0];
    const inShape = node?.inputTensors[0] ? shapeOf(node.inputTensors[0]) : [];
    const outShape = node?.outputTensors[0] ? shapeOf(node.outputTensors[0]) : [];
    return {
      name: layer.name,
      className: layer.getClassName(),
      params: layer.countParams(),
      flops: layerFlops(layer, inShape, outShape),
    };
  });
  return {
    params: layers.reduce((s, l) => s + l.params, 0),
    flops: layers.reduce((s, l) => s + l.flops, 0),
    layers,
  };
}

/**
 * The functional twin: a new model with every strided conv/pool replaced by its stride-1
 * version followed by BlurPool2D, the same weights, and the cost before and after. The input
 * model is left unchanged (dispose it when no longer needed). Layers must be used once each.
 */
export function applyBlurPool(model: tfl.LayersModel, opts: BlurPoolOptions = {}): BlurPoolResult {
  const o = checkOptions(opts);
  const replaced: string[] = [];
  // Kernels keep their shapes (only strides change), so every weight copies across.
  const rebuilt = rebuildModel(model, {
    unsupported: (layer, why) =>
      new UsageError(
        'ANNEAL_BLURPOOL_UNSUPPORTED',
        `blurpool: layer '${layer.name}' is ${why}; applyBlurPool rebuilds flat models whose ` +
          'layers are used once: flatten the model or build it with the blur layers ' +
          "(src/models' resnet has blurPool: true).",
      ),
    rewrite: (layer, args, copy) => {
      const stride = downsamplingStride(layer, o);
      if (stride === null) return null;
      const unstrided = copy({ ...layer.getConfig(), strides: [1, 1] });
      const blur = new BlurPool2D({
        stride,
        filterSize: o.filterSize,
        padding: o.padding,
        name: `${layer.name}_blurpool`,
      });
      replaced.push(layer.name);
      return blur.apply(unstrided.apply(args[0])) as tfl.SymbolicTensor;
    },
    build: ({ inputs, tensorFor }) =>
      tfl.model({ inputs, outputs: model.outputs.map(tensorFor), name: `${model.name}_blurpool` }),
  });
  return { model: rebuilt, replaced, before: modelCost(model), after: modelCost(rebuilt) };
}

/** Strided conv/pool layers a model still has (what applyBlurPool would replace). */
export function stridedDownsamplingLayers(
  model: tfl.LayersModel,
  opts: BlurPoolOptions = {},
): string[] {
  const o = checkOptions(opts);
  return model.layers.filter((l) => downsamplingStride(l, o) !== null).map((l) => l.name);
}

/**
 * The method. It cannot rebuild the model inside the Trainer (the ParamVector is made from it),
 * so `transformModel` is what a recipe/CLI calls before building the Trainer; at INIT the method
 * refuses a model that still downsamples with strides, and logs the cost of the blurred model.
 */
export class BlurPoolMethod implements Method {
  readonly name = 'blurpool';
  readonly options: Required<BlurPoolOptions>;

  constructor(opts: BlurPoolOptions = {}) {
    this.options = checkOptions(opts);
  }

  /**
   * For recipes and the CLI: the model to hand to the Trainer. A model with nothing to blur (no
   * strided conv or pool, and no BlurPool layer yet: an MLP) is refused, not trained unchanged.
   */
  transformModel(model: tfl.LayersModel): BlurPoolResult {
    const result = applyBlurPool(model, this.options);
    if (!result.model.layers.some((l) => l instanceof BlurPool2D)) {
      result.model.dispose();
      throw new UsageError(
        'ANNEAL_BLURPOOL_NOTHING',
        `blurpool: the model '${model.name}' has no strided convolution or pooling to blur, so ` +
          'BlurPool would change nothing; drop blurpool, or use a model that downsamples (cnn, resnet)',
      );
    }
    return result;
  }

  match(event: Event): boolean {
    return event === Event.INIT;
  }

  apply(_event: Event, state: TrainState, log: Logger): void {
    if (!isLayersModel(state.model)) {
      throw new UsageError(
        'ANNEAL_BLURPOOL_UNSUPPORTED',
        'blurpool: the model is a plain-variable model; BlurPool needs a tfjs-layers model',
      );
    }
    const left = stridedDownsamplingLayers(state.model, this.options);
    if (left.length > 0) {
      throw new UsageError(
        'ANNEAL_BLURPOOL_NOT_APPLIED',
        `blurpool: the model still downsamples with strides in ${left.map((n) => `'${n}'`).join(', ')}; ` +
          'build the Trainer with applyBlurPool(model).model (or resnet with blurPool: true)',
      );
    }
    const cost = modelCost(state.model);
    const blurLayers = state.model.layers.filter((l) => l instanceof BlurPool2D).length;
    log.log('blurpool', { blurLayers, params: cost.params, flopsPerSample: cost.flops });
  }
}

export function blurPool(opts: BlurPoolOptions = {}): BlurPoolMethod {
  return new BlurPoolMethod(opts);
}
