#!/bin/sh
# cspec/postgres entrypoint: initialises PGDATA like the official postgres image.
set -eu
PGBIN="/usr/lib/postgresql/$PG_MAJOR/bin"
export PATH="$PGBIN:$PATH"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift
# Asking for help or the version needs no database (as in the official image).
for arg; do
  case "$arg" in -'?'|--help|--describe-config|-V|--version) exec postgres "$@" ;; esac
done

# At every start, PGDATA (made, owned by postgres, mode 700) and the socket directory (from the package).
# One process, not mkdir + chown + chmod: starting a process is most of what a start costs.
install -d -o postgres -g postgres -m 700 "$PGDATA"
[ -d /var/run/postgresql ] || install -d -o postgres -g postgres -m 2775 /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$method" != trust ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
    echo '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
    echo '       For example, "-e POSTGRES_PASSWORD=password" on "cspec run".' >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  chown postgres "$pwfile"
  # shellcheck disable=SC2086
  as_postgres initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$method" ${POSTGRES_INITDB_ARGS:-}
  rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"
  # A server on the socket only, for creating the database and running init scripts.
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$db" != postgres ]; then
    as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -q \
      -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "running $f"; as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -f "$f" ;;
      *.sh) echo "running $f"; . "$f" ;;
      *) ;;
    esac
  done
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*' "$@"
