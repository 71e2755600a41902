#!/usr/bin/env bash
# A separate git worktree at a commit for a long experiment (bench/README.md, "Protocol"), so
# that edits made meanwhile in this checkout neither change the code under the run nor make its
# result dirty. It shares this checkout's node_modules (a symbolic link), and copies the built
# wasm and addon when their sources are the same at that commit, or else builds them there.
#
# Usage: bench/worktree.sh [commit (default HEAD)] [directory (default ../anneal-bench-<commit>)]
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commit=$(git -C "$root" rev-parse --verify "${1:-HEAD}^{commit}")
short=${commit:0:10}
dir=${2:-$(dirname "$root")/anneal-bench-$short}

if [ -e "$dir" ]; then
  at=$(git -C "$dir" rev-parse HEAD 2>/dev/null || echo none)
  if [ "$at" != "$commit" ]; then
    echo "worktree.sh: $dir exists and is not a checkout of $short (it is at ${at:0:10}): pick another directory" >&2
    exit 1
  fi
  echo "worktree.sh: $dir is already at $short"
else
  git -C "$root" worktree add --detach "$dir" "$commit" >/dev/null
  echo "worktree.sh: created $dir at $short"
fi

# node_modules: the same packages unless package-lock.json differs at that commit.
if [ ! -e "$dir/node_modules" ]; then ln -s "$root/node_modules" "$dir/node_modules"; fi
if ! git -C "$root" diff --quiet "$commit" -- package-lock.json; then
  echo "worktree.sh: package-lock.json differs between $short and this checkout: run 'npm ci' in $dir (and remove its node_modules link first)" >&2
fi

# Built artefacts (ignored by git): copied when their sources match the commit, else built there.
same() { git -C "$root" diff --quiet "$commit" -- "$@"; }
if [ ! -e "$dir/asm/build" ]; then
  if [ -d "$root/asm/build" ] && same asm; then
    cp -r "$root/asm/build" "$dir/asm/build"
  else
    (cd "$dir" && npm run --silent build:asm)
  fi
fi
if [ ! -e "$dir/build" ]; then
  if [ -d "$root/build/Release" ] && same native CMakeLists.txt; then
    mkdir -p "$dir/build" && cp -r "$root/build/Release" "$dir/build/Release"
  else
    (cd "$dir" && npm run --silent build:addon)
  fi
fi

cat <<MSG
Run an experiment there (run it again after a kill to resume), then bring its result back:
  cd $dir && npx tsx bench/<experiment>.ts
  cp $dir/bench/results/<experiment>.json $root/bench/results/ && (cd $root && npm run bench:tables)
  git -C $root worktree remove $dir
MSG
