/**
 * TensorFlow.js models on the file system without tfjs-node: an IOHandler that saves and loads
 * the format of tf.io and tfjs-converter (model.json with modelTopology, weightsManifest, format,
 * generatedBy and convertedBy, beside weight shards `group1-shard<i>of<n>.bin` of at most 4 MiB,
 * tfjs-converter's default). registerFileRouter makes `model.save('file://dir')` and
 * `tf.loadLayersModel('file://dir/model.json')` use it, unless tfjs-node (which registers its own
 * `file://` handler) is loaded.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import { writeModelDir } from './model-dir.js';

type ModelArtifacts = tf.io.ModelArtifacts;
type ModelJSON = tf.io.ModelJSON;

/** tfjs-converter's default shard size (--weight_shard_size_bytes). */
export const SHARD_BYTES = 4 * 1024 * 1024;
export const MODEL_JSON = 'model.json';

/** Shard file names as tfjs-converter writes them: group1-shard1of3.bin, ... */
export function shardNames(bytes: number, shardBytes = SHARD_BYTES): string[] {
  const n = Math.max(1, Math.ceil(bytes / shardBytes));
  return Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
}

/**
 * The files of a saved model: model.json and its shards, as tf.io's own savers lay model.json
 * out (getModelJSONForModelArtifacts: the optional fields only when present).
 */
export function modelFiles(artifacts: ModelArtifacts): Map<string, Uint8Array | string> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new UsageError(
      'ANNEAL_BAD_MODEL',
      'cannot save a model whose topology is binary (a GraphDef); save a LayersModel',
    );
  }
  const data = new Uint8Array(
    artifacts.weightData === undefined
      ? new ArrayBuffer(0)
      : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
  );
  const names = shardNames(data.byteLength);
  const json: ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: names, weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null)
    json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) {
    json.initializerSignature = artifacts.initializerSignature;
  }
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  const files = new Map<string, Uint8Array | string>([[MODEL_JSON, JSON.stringify(json)]]);
  names.forEach((name, i) =>
    files.set(
      name,
      data.subarray(i * SHARD_BYTES, Math.min(data.byteLength, (i + 1) * SHARD_BYTES)),
    ),
  );
  return files;
}

/** model.json's path for `path`: the file itself, or model.json inside a directory. */
export function modelJsonPath(path: string): string {
  try {
    if (statSync(path).isDirectory()) return join(path, MODEL_JSON);
  } catch {
    // Missing: readModelJson names it.
  }
  return path;
}

/** model.json, parsed and checked to be a tfjs model file. */
export function readModelJson(path: string): ModelJSON {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      'ANNEAL_MODEL_NOT_FOUND',
      `model ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
        'expected the model.json of a TensorFlow.js model (or its directory); check the path',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_BAD_MODEL',
      `model ${path} is not valid JSON (${(e as Error).message.split('\n')[0]}); expected a TensorFlow.js model.json`,
    );
  }
  const j = json as Partial<ModelJSON> | null;
  if (
    j === null ||
    typeof j !== 'object' ||
    j.modelTopology == null ||
    !Array.isArray(j.weightsManifest)
  ) {
    throw new UsageError(
      'ANNEAL_BAD_MODEL',
      `model ${path} is not a TensorFlow.js model.json: expected "modelTopology" and "weightsManifest" ` +
        '(as tf.io, tfjs-converter and anneal write them)',
    );
  }
  return j as ModelJSON;
}

/** Reads model.json and its weight files into ModelArtifacts (tfjs's own reader of the JSON). */
export async function readModelArtifacts(path: string): Promise<ModelArtifacts> {
  const json = readModelJson(path);
  const dir = dirname(path);
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const parts = manifest.flatMap((group) =>
      group.paths.map((p) => {
        const file = join(dir, p);
        try {
          const b = readFileSync(file);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        } catch (e) {
          throw new UsageError(
            'ANNEAL_MODEL_NOT_FOUND',
            `model ${path} lists the weight file ${p}, which cannot be read (` +
              `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); keep the .bin files beside model.json`,
          );
        }
      }),
    );
    return [specs, tf.io.concatenateArrayBuffers(parts)];
  });
}

export interface FileHandlerOptions {
  /** Replace a model directory anneal wrote (the default: model.save overwrites its own). */
  overwrite?: boolean;
  /** Recorded in the directory's marker. */
  writer?: string;
}

/**
 * tf.io.IOHandler over a directory (save) or a model.json (load; a directory means its
 * model.json). Saving writes the whole directory at once (writeModelDir).
 */
export class FileSystemHandler implements tf.io.IOHandler {
  constructor(
    readonly path: string,
    readonly opts: FileHandlerOptions = {},
  ) {}

  async save(artifacts: ModelArtifacts): Promise<tf.io.SaveResult> {
    writeModelDir(this.path, modelFiles(artifacts), {
      writer: this.opts.writer ?? 'save',
      overwrite: this.opts.overwrite ?? true,
    });
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  async load(): Promise<ModelArtifacts> {
    return readModelArtifacts(modelJsonPath(this.path));
  }
}

/** A file:// URL (or list of one) as a path, or null. */
function fileUrlPath(url: string | string[]): string | null {
  const u = Array.isArray(url) ? (url.length === 1 ? url[0] : null) : url;
  return typeof u === 'string' && u.startsWith('file://') ? u.slice('file://'.length) : null;
}

/** tfjs-node, once loaded, registers its own file:// handler (and the 'tensorflow' backend). */
function tfjsNodeLoaded(): boolean {
  return tf.findBackendFactory('tensorflow') != null;
}

// A router answers null for URLs it does not take, as tfjs's own routers do (its type says not).
const fileRouter = ((url: string | string[]) => {
  const path = fileUrlPath(url);
  return path === null || tfjsNodeLoaded() ? null : new FileSystemHandler(path);
}) as Parameters<typeof tf.io.registerSaveRouter>[0];

let registered = false;

/** Registers the file:// save and load routers (once). */
export function registerFileRouter(): void {
  if (registered) return;
  registered = true;
  tf.io.registerSaveRouter(fileRouter);
  tf.io.registerLoadRouter(fileRouter);
}
