#!/usr/bin/env bash
# One command from a fresh clone to a passing example suite:
# system packages, npm install, build, host check, then the example suite in containers.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "cspec quickstart: Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ]; then
  bash scripts/install-system-deps.sh
else
  # The one step that needs root: system packages, and a subordinate id range for this user
  # (docs/rootless.md). Both are skipped when already there; cspec itself runs as you.
  echo "cspec quickstart: system packages and your subordinate id range need root once (sudo)"
  if ! command -v sudo >/dev/null; then
    echo "cspec quickstart: sudo is not installed — as root, run: bash scripts/install-system-deps.sh && bash scripts/rootless-user.sh $(id -un)" >&2
    exit 1
  fi
  sudo bash scripts/install-system-deps.sh
  sudo bash scripts/rootless-user.sh "$(id -un)"
fi
npm ci --no-audit --no-fund
npm run build
node packages/cli/dist/bin.js doctor
npm test -w @cspec-examples/getting-started
