#!/usr/bin/env bash
# WebGPU check of @methodzoo/backend-gpujs, for a machine with a GPU.
#
# Runs, through gpu.js's WebGPU mode (Dawn, from the `webgpu` npm package):
#   1. the core's golden op cases (values and float32 gradients against PyTorch) on `gpujs-webgpu`,
#      with the async runner (WebGPU reads are asynchronous), and which gpu.js mode each kernel ran in;
#   2. the backend benchmark (small CNN step, matmul 1024, 1-element dispatch) on reference,
#      gpujs-webasm and gpujs-webgpu in the same run (table on stdout, JSON in
#      packages/backend-gpujs/bench/results/gpujs.json).
#
# Usage: tools/gpu-check.sh [--node /path/to/node] [--quick]
#   --node   the Node.js (>= 20.11) binary to run with; default: $NODE, else `node` on PATH. The GPU
#            machine needs no Node install: copy a linux-x64 Node binary there and point at it.
#   --quick  fewer benchmark repeats.
#
# Preparation: the checkout must have its dependencies installed (`pnpm install` on a machine with
# registry access; copy the whole checkout, node_modules included, to the GPU machine). Dawn's
# linux-x64 binary needs glibc >= 2.38 (libstdc++ with GLIBCXX_3.4.32) and a Vulkan driver for the
# GPU. Exit status: 0 all passed; 1 a case failed or a kernel did not run on WebGPU; 2 WebGPU did
# not initialise (the reason is printed: Dawn failed to load, or no adapter answered).
set -uo pipefail

NODE_BIN="${NODE:-node}"
QUICK=()
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE_BIN="$2"; shift 2 ;;
    --node=*) NODE_BIN="${1#--node=}"; shift ;;
    --quick) QUICK=(--quick); shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 64 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/packages/backend-gpujs"
TSX="$PKG/node_modules/tsx/dist/cli.mjs"
if ! "$NODE_BIN" --version >/dev/null 2>&1; then
  echo "gpu-check: cannot run Node at '$NODE_BIN' (pass --node /path/to/node)" >&2
  exit 64
fi
if [ ! -f "$TSX" ]; then
  echo "gpu-check: $TSX is missing: install the workspace's dependencies first (pnpm install)" >&2
  exit 64
fi
# Node binaries run from a copied path want their own directory first on PATH for child processes
export PATH="$(dirname "$(command -v "$NODE_BIN" || echo "$NODE_BIN")"):$PATH"

echo "== node $("$NODE_BIN" --version), $(ldd --version 2>/dev/null | head -1)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

cd "$PKG" || exit 64
echo "== golden op cases on gpujs-webgpu"
"$NODE_BIN" "$TSX" --conditions=methodzoo-source bench/gpu-check.ts
status=$?
if [ $status -eq 2 ]; then
  exit 2
fi

echo "== benchmark"
"$NODE_BIN" "$TSX" --conditions=methodzoo-source bench/gpujs.bench.ts --backends reference,gpujs-webasm,gpujs-webgpu "${QUICK[@]}" || status=1
exit $status
