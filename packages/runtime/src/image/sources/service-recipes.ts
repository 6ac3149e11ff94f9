/**
 * Built-in service images, made from Debian's own packages by debootstrap
 * (`--include`) on first use: `cspec/postgres:15|17`, `cspec/redis:7`. Their
 * entrypoints follow the official Docker Hub images' conventions
 * (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB; redis arguments), so code
 * written for those images works unchanged.
 */
import type { OciImageConfig } from '../oci.js';

export interface ImageFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** What one image is made of: a Debian suite, extra packages, files and its config. */
export interface BootstrapRecipe {
  readonly suite: string;
  readonly packages: readonly string[];
  readonly files: readonly ImageFile[];
  readonly config: NonNullable<OciImageConfig['config']>;
  /** A shell command run in the new root (chroot) after the packages are installed. */
  readonly setup?: string;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The official image's initialisation, for Debian's postgresql-N packages. */
function postgresEntrypoint(major: number): string {
  return `#!/bin/sh
# cspec/postgres:${major} entrypoint: initialises PGDATA like the official postgres image.
set -eu
PGBIN=/usr/lib/postgresql/${major}/bin
export PATH="$PGBIN:$PATH"
: "\${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ "\${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift
# Asking for help or the version needs no database (as in the official image).
for arg; do
  case "$arg" in -'?'|--help|--describe-config|-V|--version) exec postgres "$@" ;; esac
done

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="\${POSTGRES_USER:-postgres}"
  db="\${POSTGRES_DB:-$user}"
  method="\${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "\${POSTGRES_PASSWORD:-}" ] && [ "$method" != trust ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
    echo '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
    echo '       For example, "-e POSTGRES_PASSWORD=password" on "cspec run".' >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s' "\${POSTGRES_PASSWORD:-}" > "$pwfile"
  chown postgres "$pwfile"
  # shellcheck disable=SC2086
  as_postgres initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$method" \${POSTGRES_INITDB_ARGS:-}
  rm -f "$pwfile"
  printf '\\nhost all all all %s\\n' "$method" >> "$PGDATA/pg_hba.conf"
  # A server on the socket only, for creating the database and running init scripts.
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$db" != postgres ]; then
    as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -q \\
      -c "CREATE DATABASE \\"$db\\""
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
`;
}

function postgres(suite: string, major: number): BootstrapRecipe {
  return {
    suite,
    packages: [`postgresql-${major}`],
    files: [{ path: '/usr/local/bin/docker-entrypoint.sh', content: postgresEntrypoint(major), mode: 0o755 }],
    // Debian's package creates a cluster of its own at install; the image initialises PGDATA instead.
    setup: `pg_dropcluster ${major} main --stop || true; mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data; chown postgres:postgres /var/lib/postgresql/data`,
    config: {
      Env: [PATH, `PG_MAJOR=${major}`, 'PGDATA=/var/lib/postgresql/data'],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      ExposedPorts: { '5432/tcp': {} },
      StopSignal: 'SIGINT',
      // Over TCP: the server of the initialisation phase listens on the socket only.
      Healthcheck: {
        Test: [
          'CMD-SHELL',
          `/usr/lib/postgresql/${major}/bin/pg_isready -h 127.0.0.1 -U "\${POSTGRES_USER:-postgres}" -d "\${POSTGRES_DB:-\${POSTGRES_USER:-postgres}}"`,
        ],
      },
    },
  };
}

const REDIS_ENTRYPOINT = `#!/bin/sh
# cspec/redis entrypoint: like the official redis image, arguments starting with "-" go to redis-server,
# which runs as the redis user in /data, listening on every interface without protected mode.
set -eu
if [ "\${1#-}" != "$1" ] || [ "\${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  mkdir -p /data && chown redis:redis /data
  cd /data
  case " $* " in
    *" --version "*|*" -v "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
`;

const MARIADB_ENTRYPOINT = `#!/bin/sh
# cspec/mariadb entrypoint: initialises /var/lib/mysql like the official mariadb image.
set -eu
if [ "\${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then exec "$@"; fi
for arg; do
  case "$arg" in --help|--version|-V|--verbose) exec "$@" ;; esac
done
shift
DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld
root_password="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}"
database="\${MARIADB_DATABASE:-\${MYSQL_DATABASE:-}}"
user="\${MARIADB_USER:-\${MYSQL_USER:-}}"
password="\${MARIADB_PASSWORD:-\${MYSQL_PASSWORD:-}}"
allow_empty="\${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-\${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "$root_password" ] && [ -z "$allow_empty" ]; then
    echo 'error: database is uninitialized and password option is not specified' >&2
    echo '  You need to specify one of MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD' >&2
    exit 1
  fi
  echo 'Initializing database files'
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \\
    --skip-name-resolve > /dev/null
  echo 'Starting temporary server'
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" &
  pid=$!
  i=0
  until mariadb-admin --socket="$SOCKET" --user=root ping > /dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 300 ]; then echo 'error: the temporary server did not start' >&2; exit 1; fi
    sleep 0.1
  done
  q() { mariadb --socket="$SOCKET" --user=root --protocol=socket "$@"; }
  # Single quotes doubled for SQL string literals (backslashes in passwords are not supported).
  escape() { printf '%s' "$1" | sed "s/'/''/g"; }
  {
    echo "DELETE FROM mysql.user WHERE user = '';"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$(escape "$root_password")';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$database" ]; then echo "CREATE DATABASE IF NOT EXISTS \\\`$database\\\`;"; fi
    if [ -n "$user" ] && [ -n "$password" ]; then
      echo "CREATE USER '$(escape "$user")'@'%' IDENTIFIED BY '$(escape "$password")';"
      if [ -n "$database" ]; then echo "GRANT ALL ON \\\`$database\\\`.* TO '$(escape "$user")'@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | q
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "running $f"; q \${database:+"$database"} < "$f" ;;
      *.sh) echo "running $f"; . "$f" ;;
      *) ;;
    esac
  done
  # Root's password last: the statements above ran as root without one.
  echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(escape "$root_password")'; FLUSH PRIVILEGES;" | q
  kill "$pid"
  wait "$pid" || true
  echo 'MariaDB init process done. Ready for start up.'
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 --skip-name-resolve "$@"
`;

function mariadb(suite: string): BootstrapRecipe {
  return {
    suite,
    packages: ['mariadb-server'],
    files: [{ path: '/usr/local/bin/docker-entrypoint.sh', content: MARIADB_ENTRYPOINT, mode: 0o755 }],
    // The package initialises a data directory at install; the image does that at first start instead.
    setup:
      'rm -rf /var/lib/mysql/* && mkdir -p /docker-entrypoint-initdb.d /run/mysqld && chown mysql:mysql /var/lib/mysql /run/mysqld',
    config: {
      Env: [PATH],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['mariadbd'],
      ExposedPorts: { '3306/tcp': {} },
      // `ping` answers even when access is denied; the initialisation server does not listen on TCP.
      Healthcheck: { Test: ['CMD-SHELL', 'mariadb-admin ping -h 127.0.0.1 --silent'] },
    },
  };
}

export const SERVICE_RECIPES: Readonly<Record<string, BootstrapRecipe>> = {
  'cspec/postgres:15': postgres('bookworm', 15),
  'cspec/postgres:17': postgres('trixie', 17),
  'cspec/mariadb:10.11': mariadb('bookworm'),
  'cspec/mariadb:11': mariadb('trixie'),
  'cspec/redis:7': {
    suite: 'bookworm',
    packages: ['redis-server'],
    files: [{ path: '/usr/local/bin/docker-entrypoint.sh', content: REDIS_ENTRYPOINT, mode: 0o755 }],
    setup: 'mkdir -p /data && chown redis:redis /data',
    config: {
      Env: [PATH],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['redis-server'],
      ExposedPorts: { '6379/tcp': {} },
      Healthcheck: { Test: ['CMD-SHELL', 'redis-cli ping | grep -qE "PONG|NOAUTH"'] },
      WorkingDir: '/data',
    },
  },
};
