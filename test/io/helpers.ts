/** tfjs's own serialization, for checking anneal's model files against it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** The artifacts tfjs's own saver makes for `model`. */
export async function tfjsArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

export function joined(data: tf.io.WeightData | undefined): Uint8Array {
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/**
 * model.json and weights.bin as tfjs-node's file handler lays them out (written here by hand
 * from tfjs's artifacts, not by anneal's handler).
 */
export function writeTfjsModel(artifacts: tf.io.ModelArtifacts, out: string): string {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'weights.bin'), joined(artifacts.weightData));
  const json = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  writeFileSync(join(out, 'model.json'), JSON.stringify(json));
  return join(out, 'model.json');
}
