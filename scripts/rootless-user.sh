#!/usr/bin/env bash
# Usage (as root): scripts/rootless-user.sh USER
# Makes USER ready to run cspec rootless (docs/rootless.md): creates the account if it is
# missing (useradd -m -s /bin/bash) and gives it a subordinate range of 65536 uids and gids in
# /etc/subuid and /etc/subgid if it has none (the lowest block free in both files, from
# 100000). Idempotent: a second run changes nothing. Prints what it did.
set -euo pipefail

user="${1:-}"
if [ -z "$user" ] || [ "$#" -ne 1 ]; then
  echo "usage: $0 USER" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "rootless-user: must run as root (it edits /etc/passwd, /etc/subuid, /etc/subgid)" >&2
  exit 1
fi

if id -u "$user" >/dev/null 2>&1; then
  echo "rootless-user: user $user exists (uid $(id -u "$user"))"
else
  useradd -m -s /bin/bash "$user"
  echo "rootless-user: created user $user (uid $(id -u "$user"))"
fi
uid="$(id -u "$user")"
touch /etc/subuid /etc/subgid

# The user's range in FILE (by name or uid), as "start:count", or nothing.
range_of() {
  awk -F: -v u="$user" -v id="$uid" '($1 == u || $1 == id) && $3 > 0 { print $2 ":" $3; exit }' "$1"
}

# The lowest start >= 100000 of 65536 ids that overlap no range in either file.
free_start() {
  cat /etc/subuid /etc/subgid | awk -F: '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { print $2, $3 }' | sort -n |
    awk 'BEGIN { s = 100000; n = 65536 }
      { if ($1 + $2 <= s) next; if ($1 >= s + n) { print s; done = 1; exit } ; s = $1 + $2 }
      END { if (!done) print s }'
}

# One block, free in both files, for whichever range is missing: uids and gids then match.
start="$(free_start)"
for kind in uid gid; do
  file="/etc/sub$kind"
  have="$(range_of "$file")"
  if [ -n "$have" ]; then
    echo "rootless-user: $user has sub${kind}s ${have%%:*}-$((${have%%:*} + ${have##*:} - 1)) in $file"
  else
    usermod "--add-sub${kind}s" "$start-$((start + 65535))" "$user"
    echo "rootless-user: added sub${kind}s $start-$((start + 65535)) for $user to $file"
  fi
done
