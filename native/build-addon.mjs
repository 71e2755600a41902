// Builds anneal's native addons with cmake-js (see CMakeLists.txt) into build/Release/:
// anneal_cpu.node always, anneal_cuda.node when nvcc is found. Run by `npm install` and
// `npm run build:addon`. The library works without either addon (wasm and js kernels), so this
// script never fails an install: whatever it cannot build, it says so in one line and exits 0.
// Environment: ANNEAL_CUDA_ARCH ("90;80", default 90 = sm_90 SASS + compute_90 PTX), CUDACXX,
// CUDA_PATH / CUDA_HOME (where to look for nvcc).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const PARALLEL_JOBS = 2;

function say(line) {
  console.log(`anneal: ${line}`);
}

const firstLine = (error) => String(error?.message ?? error).split('\n')[0];

function runs(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0;
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function findNvcc() {
  const cudaRoots = [process.env.CUDA_PATH, process.env.CUDA_HOME, '/usr/local/cuda'];
  const candidates = [
    process.env.CUDACXX,
    ...cudaRoots.filter(Boolean).map((dir) => join(dir, 'bin', 'nvcc')),
    onPath('nvcc'),
  ];
  return candidates.find((path) => path && runs(path, ['--version'])) ?? null;
}

async function build(withCuda, nvcc) {
  const { BuildSystem } = require('cmake-js');
  const cMakeOptions = { ANNEAL_WITH_CUDA: withCuda ? 'ON' : 'OFF' };
  if (withCuda) cMakeOptions.CMAKE_CUDA_COMPILER = nvcc;
  const system = new BuildSystem({
    directory: root,
    config: 'Release',
    parallel: PARALLEL_JOBS,
    cMakeOptions,
  });
  // configure every time: a cache left by an earlier run would otherwise keep its options
  await system.configure();
  await system.build();
}

/** The addons now in build/Release, and a note when the host device is missing. */
function built() {
  const names = ['anneal_cpu.node', 'anneal_cuda.node', 'anneal_host.node'].filter((name) =>
    existsSync(join(root, 'build', 'Release', name)),
  );
  const host = names.includes('anneal_host.node')
    ? ''
    : '; oneDNN not found, so no anneal_host.node (the anneal-cpu backend): apt-get install libdnnl-dev, then npm run build:addon';
  return names.join(', ') + host;
}

async function main() {
  const started = Date.now();
  const seconds = () => `${Math.round((Date.now() - started) / 1000)} s`;
  if (!runs('cmake', ['--version'])) {
    say(
      'cmake not found, native addons skipped (the wasm and js kernels still work); install cmake and run npm run build:addon to build them',
    );
    return;
  }
  try {
    require.resolve('cmake-js');
  } catch {
    say(
      'cmake-js is not installed, native addons skipped; run npm install, then npm run build:addon',
    );
    return;
  }
  const nvcc = findNvcc();
  if (nvcc) {
    try {
      await build(true, nvcc);
      say(`built ${built()} (nvcc ${nvcc}) in ${seconds()}`);
      return;
    } catch (error) {
      say(`the CUDA addon did not build (${firstLine(error)}); building the CPU addon only`);
      // an older anneal_cuda.node would no longer match the sources
      rmSync(join(root, 'build', 'Release', 'anneal_cuda.node'), { force: true });
    }
  } else {
    say(
      'nvcc not found, GPU addon skipped (CPU build only); install the CUDA toolkit and run npm run build:addon to build it',
    );
  }
  try {
    await build(false, null);
    say(`built ${built()} in ${seconds()}`);
  } catch (error) {
    say(
      `native addons skipped: the build failed (${firstLine(error)}); a C++17 compiler is needed, then run npm run build:addon`,
    );
  }
}

await main();
