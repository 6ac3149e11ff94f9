#!/usr/bin/env bash
# Installs the system packages cspec needs on Debian/Ubuntu (run as root).
# --with-test-tools adds what the project's own tests compare against (Docker Engine).
set -euo pipefail
packages=(runc debootstrap iproute2 procps ca-certificates attr)
if [ "${1:-}" = "--with-test-tools" ]; then packages+=(docker.io); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "cspec setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
