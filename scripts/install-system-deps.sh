#!/usr/bin/env bash
# Installs the system packages cspec needs on Debian/Ubuntu (run as root).
# --with-test-tools adds what the project's own tests compare against (Docker Engine)
# and run against (a registry, skopeo to fill it, htpasswd for its basic auth), and tmux,
# the terminal the progress display is read back from.
# zstd decodes zstd-compressed image layers on Node < 22.15.
# uidmap (newuidmap/newgidmap) maps a user's subordinate ids for rootless containers, and
# mmdebstrap builds the Debian base images without root (docs/rootless.md).
set -euo pipefail
packages=(runc debootstrap iproute2 procps ca-certificates attr zstd uidmap mmdebstrap)
if [ "${1:-}" = "--with-test-tools" ]; then packages+=(docker.io docker-registry skopeo apache2-utils openssl tmux); fi
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
