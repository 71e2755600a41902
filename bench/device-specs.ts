/**
 * tfjs-core's spec suite on a named backend, as the GPU device check runs it: node alone, with
 * no node_modules and no esbuild. It is test/backend/tfjs-specs.ts's runSpecs itself (the same
 * jasmine setup, reporter, exclusions and counts as CI's run), bundled by bench/device-bundles.ts
 * into dist/device/specs-runner.mjs, with two things prepared there instead of at run time:
 * - the specs' bundle: runSpecs' esbuild call is served by a stand-in (bench/device-bundles.ts)
 *   that points it at dist/device/specs-entry.mjs (bench/device-specs-entry.ts: tfjs-core, the
 *   specs and anneal's backends, `anneal-cuda` included);
 * - jasmine: dist/device/node_modules/jasmine (bundled) and jasmine-core (copied), which
 *   runSpecs' require finds beside the bundle.
 *
 * usage: node dist/device/specs.mjs --backend anneal-cuda|anneal-cuda-host [--grep S] [--json]
 * Prints the summary line (and with --json the SpecSummary as the last line); exit status 0 when
 * no spec failed. (specs.mjs only imports specs-runner.mjs: were the bundle the process's script,
 * tfjs-specs.ts's own main() would run too.)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSpecs, summaryLine, type SpecBackend } from '../test/backend/tfjs-specs.js';

/** What the device check runs the suite on: the GPU, or its host build (dry runs, CI). */
const DEVICE_BACKENDS = ['anneal-cuda', 'anneal-cuda-host'];

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'anneal-cuda' },
    json: { type: 'boolean', default: false },
    grep: { type: 'string' },
  },
});
const backend = values.backend!;
if (!DEVICE_BACKENDS.includes(backend)) {
  console.error(`--backend is '${backend}', expected one of ${DEVICE_BACKENDS.join(', ')}`);
  process.exit(2);
}
// runSpecs finds build/Release from test/backend/; this bundle lives in dist/device/.
process.env.ANNEAL_ADDON_DIR ??= fileURLToPath(new URL('../../build/Release', import.meta.url));

const summary = await runSpecs(backend as SpecBackend, { grep: values.grep });
const natives = Object.values(summary.nativeCalls);
console.log(
  `native kernel calls: ${natives.reduce((a, b) => a + b, 0)} over ${natives.length} kernels`,
);
console.log(summaryLine(summary));
if (values.json) console.log(JSON.stringify(summary));
process.exitCode = summary.failed === 0 && summary.passed > 0 ? 0 : 1;
