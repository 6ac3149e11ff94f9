#!/bin/sh
# cspec/redis entrypoint: like the official redis image, arguments starting with "-" go to redis-server,
# which runs as the redis user in /data, listening on every interface without protected mode.
set -eu
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
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
