#!/usr/bin/env bash
# On a machine with a GPU: the backend-parity suite and the benchmark with gpu.js's webgpu (Dawn)
# and headlessgl modes, in one go. Modes that cannot start are reported as skipped, by name.
#   npm run bench:gpu
set -uo pipefail
cd "$(dirname "$0")/../.."
node -e "import('gpu.js').then(async ({ GPU }) => console.log('gpu.js: webgpu', await GPU.isWebGPUAvailable(), 'headlessgl', GPU.isHeadlessGLSupported, 'webasm', GPU.isWebAssemblySupported))"
status=0
TSFACE_PARITY_MODES=webgpu,headlessgl,webasm node --import tsx --test --test-reporter=spec test/backend-parity.test.ts || status=1
node --import tsx tools/bench/run.ts --gpujs-modes webgpu,headlessgl,webasm --gpujs-per-op --no-anchors --json "${BENCH_JSON:-bench-gpu.json}" || status=1
exit $status
