import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/index.js';
import { createModel } from '../src/models/index.js';
import { forward, trainableVariables } from '../src/train/model.js';
import { crossEntropy } from '../src/train/loss.js';

await initEngine({ backend: 'wasm' });
const model = createModel(process.argv[2] ?? 'vit', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
const vars = trainableVariables(model);
const x = tf.randomUniform([64, 28, 28, 1]);
const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10);
const step = () => {
  const { value, grads } = tf.variableGrads(() => crossEntropy(y, forward(model, x, true)) as tf.Scalar, vars);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
};
for (let i = 0; i < 3; i++) step();
const t0 = performance.now();
for (let i = 0; i < 5; i++) step();
console.log('ms/step', ((performance.now() - t0) / 5).toFixed(1));
const info = await tf.profile(() => step());
const by = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) {
  const ms = (await k.kernelTimeMs) as number;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = by.get(key) ?? { ms: 0, n: 0 };
  e.ms += ms; e.n++;
  by.set(key, e);
}
const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
console.log('kernels total ms', total.toFixed(1), 'count', info.kernels.length);
for (const [k, e] of [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(e.ms.toFixed(2).padStart(8), String(e.n).padStart(4), k);
