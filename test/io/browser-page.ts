/**
 * The page side of test/io/browser-load.test.ts, bundled for chromium with esbuild: stock
 * tfjs-core, tfjs-layers and tfjs-backend-cpu (no anneal code). `annealPredict` loads an exported
 * model the way a web page would (its anneal-layers.js first, then tf.loadLayersModel over HTTP)
 * and returns the predicted classes and logits of a batch. Not run directly.
 */
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

// What `import * as tf from '@tensorflow/tfjs'` gives a page: core and layers in one object.
const tf = { ...tfc, ...tfl };

interface Prediction {
  classes: number[];
  logits: number[];
  backend: string;
}

async function annealPredict(base: string, images: number[], shape: number[]): Promise<Prediction> {
  await tfc.setBackend('cpu');
  const url = `${base}/anneal-layers.js`;
  const { registerAnnealLayers } = (await import(/* @vite-ignore */ url)) as {
    registerAnnealLayers(tf: unknown): unknown;
  };
  registerAnnealLayers(tf);
  const model = await tfl.loadLayersModel(`${base}/model.json`);
  const x = tfc.tensor(images, shape);
  const logits = model.predict(x) as tfc.Tensor;
  const classes = tfc.argMax(logits, 1);
  const result = {
    classes: Array.from(classes.dataSync()),
    logits: Array.from(logits.dataSync()),
    backend: tfc.getBackend(),
  };
  tfc.dispose([x, logits, classes]);
  model.dispose();
  return result;
}

(globalThis as unknown as { annealPredict: typeof annealPredict }).annealPredict = annealPredict;
