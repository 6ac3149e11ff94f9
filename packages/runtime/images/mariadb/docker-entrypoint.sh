#!/bin/sh
# cspec/mariadb entrypoint: initialises /var/lib/mysql like the official mariadb image.
set -eu
if [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then exec "$@"; fi
for arg; do
  case "$arg" in --help|--version|-V|--verbose) exec "$@" ;; esac
done
shift
DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld
root_password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
user="${MARIADB_USER:-${MYSQL_USER:-}}"
password="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
allow_empty="${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "$root_password" ] && [ -z "$allow_empty" ]; then
    echo 'error: database is uninitialized and password option is not specified' >&2
    echo '  You need to specify one of MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD' >&2
    exit 1
  fi
  echo 'Initializing database files'
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
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
    if [ -n "$database" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$database\`;"; fi
    if [ -n "$user" ] && [ -n "$password" ]; then
      echo "CREATE USER '$(escape "$user")'@'%' IDENTIFIED BY '$(escape "$password")';"
      if [ -n "$database" ]; then echo "GRANT ALL ON \`$database\`.* TO '$(escape "$user")'@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | q
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "running $f"; q ${database:+"$database"} < "$f" ;;
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
