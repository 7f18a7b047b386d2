#!/usr/bin/env bash
# Browser libraries from the npm registry (package.json + package-lock.json) into static/vendor/,
# where whitenoise serves them. static/vendor/ and node_modules/ are not committed: this runs in
# `make venv` (so `make demo`, `make test` and .ci/run) and in the Docker build. No CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "npm is missing: apt-get install npm (or nodejs from nodejs.org)"; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
mkdir -p static/vendor/uplot
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE \
  static/vendor/uplot/
echo "static/vendor/uplot: uPlot $(node -p 'require("./node_modules/uplot/package.json").version')"
