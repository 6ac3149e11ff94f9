#!/usr/bin/env bash
# One command from a fresh clone to a passing example suite:
# system packages, npm install, build, host check, then the example suite in containers.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "cspec quickstart: the native engine needs root for now — run: sudo bash scripts/quickstart.sh" >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "cspec quickstart: Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run build
node packages/cli/dist/bin.js doctor
npm test -w @cspec-examples/getting-started
