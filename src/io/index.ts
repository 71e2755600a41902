/**
 * Models in and out of anneal in TensorFlow.js's own format, in Node without tfjs-node: a
 * file-system IOHandler for model.json and weight shards (registered for `file://` URLs on
 * import), saveModel and loadModel, loading a user's model for training (final softmax off, shape
 * checks), and the registration module for anneal's custom layers that exports ship.
 */
import { registerFileRouter } from './file-handler.js';

registerFileRouter();

export {
  FileSystemHandler,
  MODEL_JSON,
  SHARD_BYTES,
  modelFiles,
  readModelArtifacts,
  registerFileRouter,
  shardNames,
  type FileHandlerOptions,
} from './file-handler.js';
export {
  checkModelFitsData,
  loadLogitsModel,
  loadModel,
  saveModel,
  stripFinalSoftmax,
  type DataShape,
  type LogitsModel,
  type SaveModelOptions,
} from './model.js';
export {
  checkModelDir,
  readModelMarker,
  writeModelDir,
  MODEL_MARKER,
  type ModelMarker,
  type WriteModelDirOptions,
} from './model-dir.js';
export { LAYERS_MODULE_FILE, LAYERS_MODULE_SOURCE, MODULE_LAYER_CLASSES } from './layers-module.js';
