#!/usr/bin/env bash
# The GPU check (../shared/device/README.md, issue 18). Runs with node alone (no node_modules on
# the GPU machine): the kernel tests and the kernel bench from dist/ (tsc), the backend sections
# from dist/device/ (esbuild bundles with tfjs, made by bench/device-bundles.ts), MNIST from
# .device/mnist/ (gzipped IDX). Sections, in order, each with its time limit in seconds:
#   gpu              5  nvidia-smi
#   tests           70  the FlatOps kernel suite on cuda against the js oracle
#   backend-ops     30  the CUDA device's op tests (test/backend/device-*.test.ts, bundled) on
#                       anneal_cuda.node and its host build, against tfjs-backend-cpu
#   backend-specs   30  tfjs-core's spec suite on anneal-cuda (CI's runner and counts)
#   backend-parity  35  the seeded CNN, 200 steps, anneal-cuda vs anneal-cuda-host
#   backend-mnist   60  one MNIST epoch of the CNN on anneal-cuda to >= 98%
#   cli-train       60  `anneal train` (the CLI, bundled) for the same epoch with --backend auto,
#                       which must take anneal-cuda
#   torch           25  PyTorch's copy, fused AdamW and topk (bench/torch_baseline.py)
#   bench           35  the FlatOps kernel bench next to them (dist/bench/cuda-kernels.js)
#   torch-train     25  PyTorch eager's training steps (bench/torch_train_baseline.py, no TF32)
#   backend-bench   55  samples/s of the MLP, CNN and ResNet at batch 64 and 512 on anneal-cuda
#   backend-parity-cudnn 35  the parity run again with ANNEAL_CUDNN=1 (cuDNN's convolutions)
#   backend-bench-cudnn  40  the CNN and ResNet again with ANNEAL_CUDNN=1
#   trainer-overhead     30  ms per Trainer step of the CNN: no method, the NaN guard reading
#                            every step, the default guard and clipping left on the device
# 535 s in all, so the run ends within 9.5 minutes (every section but the last took 117 s on an
# H200).
#
# On the development machine first:
#   npm run build:addon && npm run build && ../shared/device/prepare.sh \
#     && npx tsx bench/device-bundles.ts
#   du -sch --apparent-size .device build/Release dist asm/build $(git ls-files) | tail -1
# (device-bundles.ts ends with the same sizes: the carried tree, node.xz and the working tree git
# sends included, must stay under 64 MiB; it was 58.5 MiB. Carry build/Release, not build/: the
# rest of build/ is cmake's ~9 MiB, which would take the tree over.) Then one
# device run with carry [".device", "build/Release", "dist", "asm/build"] and timeout_s 420:
#   bash bench/device-check.sh "$OUT"
# Dry run here, without a GPU (anneal-cuda-host, the host build of the CUDA device, in place of
# anneal-cuda, compared with anneal-cpu in the parity section; tiny sizes; the CUDA-only sections
# skipped; the PyTorch ones on the CPU where a python3 here imports torch, else skipped):
#   ANNEAL_DEVICE_CHECK_DRY=1 bash bench/device-check.sh /tmp/device-check-dry
# ANNEAL_DEVICE_CHECK_SKIP=tests,... leaves sections out: for CI's dry run (npm test runs the
# kernel tests already), or a GPU rerun of some sections with device time left; a GPU run with a
# section left out is never "ok".
#
# Every section is fail-soft (its own time limit, its log, its exit status in the summary), so
# one failure still leaves the others' results. Writes to OUT (a device run brings back at most
# 8 files):
#   device-check.json    the summary: each section's exit status, seconds and limit; the test
#                        counts; the spec suite's counts and failures; the parity, MNIST and
#                        backend-bench records; the kernel bench's targets; the environment
#   cuda-backend.json    samples/s on anneal-cuda next to PyTorch eager (bench/results format)
#   cuda-kernels.json    the FlatOps kernel benchmark record (bench/results format)
#   logs.tar.gz          every section's log and record (logs/*.log, logs/*.json)
# The tests run with ANNEAL_REQUIRE_CUDA=1 (a cuda skip is a failure). device-check.json's "ok"
# is true, and the script exits 0, only when every section exited 0 and wrote a passing record.
set -uo pipefail
out=${1:?usage: bench/device-check.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs="$out/logs"
mkdir -p "$logs"
cd "$(dirname "$0")/.."

dry=${ANNEAL_DEVICE_CHECK_DRY:-0}
skip=",${ANNEAL_DEVICE_CHECK_SKIP:-},"
if [ "$dry" = 1 ]; then
  echo "device-check: DRY run (no GPU): anneal-cuda-host in place of anneal-cuda, tiny sizes"
  backend=anneal-cuda-host
  dry_flag=(--dry)
  # The GPU run compares the GPU with the host build of the same device; a dry run compares the
  # host build with anneal-cpu (oneDNN), so its tolerances meet a real difference.
  reference=anneal-cpu
  command -v node >/dev/null || { echo "device-check: no node on PATH" >&2; exit 1; }
else
  source .device/env.sh || { echo "device-check: node did not start" >&2; exit 1; }
  backend=anneal-cuda
  reference=anneal-cuda-host
  dry_flag=()
fi
if [ ! -f dist/device/train.mjs ] || [ ! -f dist/device/specs.mjs ]; then
  echo "device-check: dist/device/ is missing: run npx tsx bench/device-bundles.ts first" >&2
  exit 1
fi

# PyTorch: the GPU machine's python3 holds it; a dry run takes the first python3 here that does.
python=python3
if [ "$dry" = 1 ]; then
  python=
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then python=$candidate; break; fi
  done
fi

# cuBLAS is dlopen'ed (libcublas.so.13); where the loader does not know the toolkit's lib64, name
# the library (ANNEAL_CUBLAS_PATH) and put its folder (libcublasLt beside it) on the path.
if [ "$dry" != 1 ] && [ -z "${ANNEAL_CUBLAS_PATH:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.13 '; then
  for lib in /usr/local/cuda/lib64/libcublas.so.13 /usr/local/cuda*/targets/x86_64-linux/lib/libcublas.so.13 \
    $(python3 -c 'import nvidia.cublas as m; print(*[p + "/lib/libcublas.so.13" for p in m.__path__])' 2>/dev/null); do
    if [ -e "$lib" ]; then
      export ANNEAL_CUBLAS_PATH=$lib LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
fi
# cuDNN is dlopen'ed too (libcudnn.so.9, where ANNEAL_CUDNN=1); where the loader does not know
# it, look in PyTorch's pip packages (nvidia-cudnn): name its folder (ANNEAL_CUDNN_DIR) and put
# it on the loader's path, where cuDNN's shim finds its sub-libraries.
if [ "$dry" != 1 ] && [ -z "${ANNEAL_CUDNN_DIR:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcudnn\.so\.9 '; then
  for dir in $(python3 -c 'import nvidia.cudnn as m; print(*[p + "/lib" for p in m.__path__])' 2>/dev/null); do
    if [ -e "$dir/libcudnn.so.9" ]; then
      export ANNEAL_CUDNN_DIR=$dir LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
fi
{
  echo "node $(node --version)"
  echo "python ${python:-none} $([ -n "$python" ] && "$python" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null)"
  echo "ANNEAL_CUBLAS_PATH=${ANNEAL_CUBLAS_PATH:-unset: the loader finds libcublas.so.13}"
  echo "ANNEAL_CUDNN_DIR=${ANNEAL_CUDNN_DIR:-unset: the loader finds libcudnn.so.9, or none is used}"
  echo "bundles: $(cat dist/device/build-info.json 2>/dev/null)"
  echo "carried: $(du -sch .device build/Release dist asm/build 2>/dev/null | tail -1 | cut -f1) (.device build/Release dist asm/build)"
} >"$logs/environment.txt"
cat "$logs/environment.txt"

# The commit dist/ and the bundles were built from (device-bundles.ts wrote it), for the kernel
# bench's record: git on the GPU machine's copy of the checkout may say otherwise.
ANNEAL_BUILD_COMMIT=$(node -p 'require("./dist/device/build-info.json").commit' 2>/dev/null) &&
  export ANNEAL_BUILD_COMMIT
# The bundles' shared chunks (dist/device/chunks) find no build/Release beside them.
export ANNEAL_ADDON_DIR="$PWD/build/Release"
# Run from a node test (test/bench/device-check.test.ts), node --test would report to that
# runner instead of printing TAP, whose counts the summary reads.
unset NODE_TEST_CONTEXT

sections=()
# run_section NAME SECONDS COMMAND...: runs COMMAND with a time limit, logging to logs/NAME.log
run_section() {
  local name=$1 limit=$2
  shift 2
  if [[ $skip == *",$name,"* ]]; then
    skip_section "$name" "left out by ANNEAL_DEVICE_CHECK_SKIP"
    return
  fi
  local started=$SECONDS
  echo "=== $name (limit ${limit} s)"
  timeout --kill-after=5 "$limit" "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  local took=$((SECONDS - started))
  tail -n 12 "$logs/$name.log" | cut -c1-400
  echo "=== $name: exit $rc after ${took} s"
  sections+=("{\"section\":\"$name\",\"exit\":$rc,\"seconds\":$took,\"limit\":$limit}")
}
# skip_section NAME WHY: a section left out (in a dry run, one that needs what is not here).
skip_section() {
  echo "=== $1: skipped in the dry run ($2)"
  sections+=("{\"section\":\"$1\",\"exit\":0,\"seconds\":0,\"limit\":0,\"skipped\":\"$2\"}")
}

if [ "$dry" = 1 ]; then
  skip_section gpu "no GPU"
else
  run_section gpu 5 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv
fi

# The shared kernel suite runs every backend present (cuda included) against the js oracle;
# cuda-elements checks the host build of the same kernels, cuda-probe the addon's contract.
# ANNEAL_REQUIRE_CUDA=1: a cuda test that would be skipped (no GPU answers, addon not built or
# not loadable) fails instead, so a machine where CUDA cannot run never passes this check.
mapfile -t test_files < <(ls dist/test/kernels/*.test.js 2>/dev/null)
if [ ${#test_files[@]} -eq 0 ]; then
  echo "device-check: no compiled tests under dist/test/kernels (run npm run build first)" | tee "$logs/tests.log"
  sections+=('{"section":"tests","exit":127,"seconds":0,"limit":0}')
elif [ "$dry" = 1 ]; then
  run_section tests 70 node --test --test-concurrency=1 "${test_files[@]}"
else
  run_section tests 70 env ANNEAL_REQUIRE_CUDA=1 node --test --test-concurrency=1 "${test_files[@]}"
fi

# The CUDA device's op tests (test/backend's, bundled) on anneal_cuda.node and its host build,
# each op against tfjs-backend-cpu's kernel.
mapfile -t op_tests < <(ls dist/device/tests/*.test.mjs 2>/dev/null)
if [ "$dry" = 1 ]; then
  run_section backend-ops 30 node --test --test-concurrency=1 "${op_tests[@]}"
else
  run_section backend-ops 30 env ANNEAL_REQUIRE_CUDA=1 node --test --test-concurrency=1 "${op_tests[@]}"
fi

# tfjs-core's own spec suite on the backend: the same runner and counts as CI's on the host build.
run_section backend-specs 30 node dist/device/specs.mjs --backend "$backend" --json

# The seeded CNN from the same weights on the GPU and on the host build (tolerances and why:
# bench/device-train.ts).
if [ "$dry" = 1 ]; then steps=60; else steps=200; fi
run_section backend-parity 35 node dist/device/train.mjs parity --backend "$backend" \
  --reference "$reference" --steps "$steps" --json "$logs/backend-parity.json" "${dry_flag[@]}"

# One MNIST epoch of the CNN to >= 98% (a dry run: 1,000 samples, a learning check only).
if [ "$dry" = 1 ]; then
  mnist_size=(--limit 1000 --test-limit 500 --min-accuracy 0.5)
else
  mnist_size=()
fi
run_section backend-mnist 60 node dist/device/train.mjs mnist --backend "$backend" \
  --data-dir .device/mnist --json "$logs/backend-mnist.json" "${mnist_size[@]}" "${dry_flag[@]}"

# `anneal train` itself (the CLI, bundled), one MNIST epoch of the CNN with its defaults (nan
# guard included) and `--backend auto`, which on the GPU must take anneal-cuda (a dry run: the
# host build by name, 1,000 samples).
if [ "$dry" = 1 ]; then
  cli_check=(--expect-backend "$backend" --min-accuracy 0.5 --dry)
  cli_args=(--backend "$backend" --limit 1000 --test-limit 500)
else
  cli_check=(--expect-backend anneal-cuda)
  cli_args=(--backend auto)
fi
run_section cli-train 60 node dist/device/train.mjs cli --run "$logs/cli-run" \
  --json "$logs/cli-train.json" "${cli_check[@]}" -- --data mnist --data-dir .device/mnist "${cli_args[@]}"
rm -rf "$logs/cli-run/checkpoints"  # 5 MB the logs need not carry back

# The FlatOps kernel benchmark next to PyTorch's copy, fused AdamW and topk.
if [ "$dry" = 1 ]; then
  skip_section torch "bench/torch_baseline.py needs CUDA"
  run_section bench 35 node dist/bench/cuda-kernels.js --build host --smoke --out "$out"
else
  run_section torch 25 "$python" bench/torch_baseline.py "$logs/torch_baseline.json"
  run_section bench 35 node dist/bench/cuda-kernels.js --torch "$logs/torch_baseline.json" --out "$out"
fi

# Training-step samples/s on the backend, PyTorch eager's first (same shapes, no TF32).
if [ "$dry" = 1 ]; then
  bench_size=(--batches 8 --samples 2 --budget-ms 500)
  torch_size=(--device cpu --batches 8 --samples 2 --warmup 1 --budget 0.5)
else
  bench_size=(--batches 64,512 --samples 20 --budget-ms 5000)
  torch_size=(--device cuda --batches 64,512 --samples 20 --warmup 3 --budget 3)
fi
if [ -n "$python" ]; then
  run_section torch-train 25 "$python" bench/torch_train_baseline.py "$logs/torch-train.json" "${torch_size[@]}"
else
  skip_section torch-train "no python3 with torch here"
fi
run_section backend-bench 55 node dist/device/train.mjs bench --backend "$backend" \
  --torch "$logs/torch-train.json" --out "$out" --json "$logs/backend-bench.json" "${bench_size[@]}" "${dry_flag[@]}"
# cuDNN's convolutions (off by default: slower than im2col + cuBLAS where measured), checked
# for parity and benched on the CNN and ResNet; the bench's record stays in the logs.
if [ "$dry" = 1 ]; then
  skip_section backend-parity-cudnn "the host build has no cuDNN"
  skip_section backend-bench-cudnn "the host build has no cuDNN"
else
  run_section backend-parity-cudnn 35 env ANNEAL_CUDNN=1 node dist/device/train.mjs parity \
    --backend "$backend" --reference "$reference" --steps "$steps" \
    --json "$logs/backend-parity-cudnn.json"
  run_section backend-bench-cudnn 40 env ANNEAL_CUDNN=1 node dist/device/train.mjs bench \
    --backend "$backend" --models cnn,resnet --torch "$logs/torch-train.json" --out "$logs/cudnn" \
    --json "$logs/backend-bench-cudnn.json" "${bench_size[@]}"
fi

# The Trainer's cost of reading a verdict every step (the NaN guard before its step gate)
# against the gate and clipping left on the device.
if [ "$dry" = 1 ]; then trainer_size=(--batches 8 --steps 5); else trainer_size=(--batches 64,512 --steps 200); fi
run_section trainer-overhead 30 node dist/device/train.mjs trainer --backend "$backend" \
  --json "$logs/trainer-overhead.json" "${trainer_size[@]}" "${dry_flag[@]}"

# Summary: section statuses, counts and records in one file; the logs in one archive.
SECTIONS="[$(IFS=,; echo "${sections[*]}")]" OUT="$out" LOGS="$logs" DRY="$dry" \
  node dist/device/summary.mjs
status=$?
tar -czf "$out/logs.tar.gz" -C "$out" logs && rm -rf "$logs"
exit $status
