/**
 * Models exported by `anneal export` (a CNN, and a ViT with anneal's custom layers) load in a
 * real browser (Debian's chromium, driven headless by playwright-core, as in
 * test/report/browser.test.ts): a loopback HTTP server serves the export folders and a page
 * bundled with esbuild from stock tfjs-core, tfjs-layers and tfjs-backend-cpu (test/io/
 * browser-page.ts); the page registers anneal-layers.js, calls tf.loadLayersModel and predicts
 * 100 MNIST test images. The classes must be those Node predicts with anneal's own loader.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchChromium, skip } from '../chromium.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadDataset } from '../../src/data/index.js';
import { loadModel } from '../../src/io/index.js';
import { anneal } from '../cli/helpers.js';

const N = 100;
const dir = mkdtempSync(join(tmpdir(), 'anneal-browser-load-'));
let browser: Browser | undefined;
let server: Server | undefined;

after(async () => {
  await browser?.close();
  server?.close();
});

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

/** Serves files under `root` on 127.0.0.1 (GET only); resolves to the base URL. */
function serve(root: string): Promise<string> {
  server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    if (req.method !== 'GET' || !path.startsWith(root + sep) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    if (statSync(path).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () => {
      const address = server!.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    }),
  );
}

/** Trains a small run of `model` and exports it to dir/<name>. */
function trainAndExport(name: string, model: string, limit: number): void {
  const run = join(dir, `${name}-run`);
  const trained = anneal([
    'train',
    ...['--data', 'mnist', '--limit', String(limit), '--test-limit', '200', '--model', model],
    ...['--epochs', '1', '--no-progress', '--out', run],
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const exported = anneal(['export', run, '--out', join(dir, 'site', name)]);
  assert.equal(exported.code, 0, exported.stderr);
}

let base = '';

before(async () => {
  if (skip) return;
  assert.ok(await tf.setBackend('cpu'));
  trainAndExport('cnn', 'cnn', 1000);
  trainAndExport('vit', 'vit', 1000);
  const site = join(dir, 'site');
  await build({
    entryPoints: [join(import.meta.dirname, 'browser-page.ts')],
    outfile: join(site, 'page.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'error',
  });
  writeFileSync(
    join(site, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>anneal export</title>' +
      '<script type="module" src="/page.js"></script>',
  );
  base = await serve(site);
});

for (const name of ['cnn', 'vit']) {
  test(
    `an exported ${name} loads in chromium and predicts Node's classes for ${N} MNIST images`,
    { skip },
    async () => {
      const data = await loadDataset('mnist', { split: 'test', limit: N });
      // Node: anneal's own loader and layers, on tfjs-backend-cpu.
      const model = await loadModel(join(dir, 'site', name));
      const x = tf.tensor4d(data.images, [N, 28, 28, 1]);
      const nodeLogits = model.predict(x) as tf.Tensor;
      const nodeClasses = Array.from(tf.argMax(nodeLogits, 1).dataSync());

      browser ??= await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/index.html`);
      await page.waitForFunction(() => 'annealPredict' in globalThis);
      const result = await page.evaluate(
        ([url, images, shape]) =>
          (
            globalThis as unknown as {
              annealPredict(
                u: string,
                i: number[],
                s: number[],
              ): Promise<{ classes: number[]; logits: number[]; backend: string }>;
            }
          ).annealPredict(url, images, shape),
        [`${base}/${name}`, Array.from(data.images), [N, 28, 28, 1]] as [
          string,
          number[],
          number[],
        ],
      );
      await page.close();
      assert.deepEqual(errors, []);
      assert.equal(result.backend, 'cpu');
      assert.deepEqual(result.classes, nodeClasses);
      const node = nodeLogits.dataSync();
      let worst = 0;
      for (let i = 0; i < node.length; i++)
        worst = Math.max(worst, Math.abs(node[i] - result.logits[i]));
      assert.ok(worst < 1e-4, `logits differ by up to ${worst}`);
      // A trained model, not a constant one: its classes agree with the labels well above chance.
      const correct = nodeClasses.filter((c, i) => c === data.labels[i]).length;
      assert.ok(correct > 30, `${name}: only ${correct}/${N} correct`);
      tf.dispose([x, nodeLogits]);
    },
  );
}
