#!/usr/bin/env bash
# The GPU check (see ../shared/device/README.md): the kernel tests on the cuda backend, then the
# CUDA benchmarks next to a PyTorch baseline measured in the same run. Runs with node alone from
# dist/ + build/Release/ + asm/build/ (no node_modules on the GPU machine).
#
# On the development machine first:
#   npm run build:addon && npm run build && ../shared/device/prepare.sh
# then on the device, with carry [".device", "build/Release", "dist", "asm/build"]:
#   bash bench/device-check.sh "$OUT"
#
# Every section is fail-soft (its own time limit, its log in OUT, its exit status in the summary),
# so one failure still leaves the others' results. Writes to OUT:
#   device-check.json         sections with exit status and seconds, the benchmark targets
#   gpu.txt, tests.log, torch.log, bench.log
#   torch_baseline.json       PyTorch copy / AdamW(fused) / topk times
#   cuda-kernels.json         the benchmark record (bench/results/ format)
# The tests run with ANNEAL_REQUIRE_CUDA=1 (a cuda skip is a failure). device-check.json's "ok"
# is true, and the script exits 0, only when every section exited 0 and no test failed.
set -uo pipefail
out=${1:?usage: bench/device-check.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
source .device/env.sh || { echo "device-check: node did not start" >&2; exit 1; }

sections=()
# run_section NAME SECONDS COMMAND...: runs COMMAND with a time limit, logging to OUT/NAME.log
run_section() {
  local name=$1 limit=$2
  shift 2
  local started=$SECONDS
  echo "=== $name (limit ${limit} s)"
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local took=$((SECONDS - started))
  tail -n 30 "$out/$name.log"
  echo "=== $name: exit $rc after ${took} s"
  sections+=("{\"section\":\"$name\",\"exit\":$rc,\"seconds\":$took}")
}

run_section gpu 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv
cp "$out/gpu.log" "$out/gpu.txt" 2>/dev/null

# The shared kernel suite runs every backend present (cuda included) against the js oracle;
# cuda-elements checks the host build of the same kernels, cuda-probe the addon's contract.
# ANNEAL_REQUIRE_CUDA=1: a cuda test that would be skipped (no GPU answers, addon not built or
# not loadable) fails instead, so a machine where CUDA cannot run never passes this check.
mapfile -t test_files < <(ls dist/test/kernels/*.test.js 2>/dev/null)
if [ ${#test_files[@]} -gt 0 ]; then
  run_section tests 150 env ANNEAL_REQUIRE_CUDA=1 node --test --test-concurrency=1 "${test_files[@]}"
else
  echo "device-check: no compiled tests under dist/test/kernels (run npm run build first)" | tee "$out/tests.log"
  sections+=('{"section":"tests","exit":127,"seconds":0}')
fi

run_section torch 150 python3 bench/torch_baseline.py "$out/torch_baseline.json"

run_section bench 210 node dist/bench/cuda-kernels.js --torch "$out/torch_baseline.json" --out "$out"

# Summary: section statuses, test counts and the benchmark's targets in one file.
SECTIONS="[$(IFS=,; echo "${sections[*]}")]" OUT="$out" node -e '
const fs = require("node:fs");
const out = process.env.OUT;
const read = (f) => { try { return fs.readFileSync(`${out}/${f}`, "utf8"); } catch { return ""; } };
const count = (name) => Number((read("tests.log").match(new RegExp(`^# ${name} (\\d+)`, "m")) ?? [])[1] ?? NaN);
let bench = null;
try { bench = JSON.parse(read("cuda-kernels.json")); } catch {}
const sections = JSON.parse(process.env.SECTIONS);
const tests = { pass: count("pass"), fail: count("fail"), skipped: count("skipped") };
// Passed: every section exited 0 and the tests ran with none failed (under ANNEAL_REQUIRE_CUDA=1
// a cuda skip is a failure; the skips left are the non-cuda ones, e.g. "no GPU" paths).
const problems = [
  ...sections.filter((s) => s.exit !== 0).map((s) => `${s.section} exited ${s.exit}`),
  ...(tests.fail === 0 && tests.pass > 0 ? [] : [`tests: ${tests.pass} passed, ${tests.fail} failed`]),
];
const summary = {
  date: new Date().toISOString(),
  ok: problems.length === 0,
  problems,
  gpu: read("gpu.txt").trim().split("\n").slice(1).join("; "),
  sections,
  tests,
  targets: bench?.targets ?? null,
  comparisons: bench?.comparisons ?? null,
  checks: bench?.checks ?? null,
};
fs.writeFileSync(`${out}/device-check.json`, JSON.stringify(summary, null, 2) + "\n");
console.log(JSON.stringify(summary));
if (!summary.ok) {
  console.error(`device-check: FAILED (${problems.join("; ")})`);
  process.exitCode = 1;
}
'
