#!/usr/bin/env bash
# Throw-away PostgreSQL, MariaDB and Redis servers on loopback for the back-end and worker tests
# (CI and developers).
#
#   eval "$(scripts/ci-databases.sh start)"   # installs (Debian packages), starts, prints exports
#   scripts/ci-databases.sh stop              # stops the servers
#   scripts/ci-databases.sh restart [postgres|mariadb|redis|all] [SECONDS]
#                                             # stops, stays down SECONDS (default 0), starts
#                                             # again: the fault tests' server restart
#
# Each server gets its own data folder under $ROLLCALL_DB_DIR (default /tmp/rollcall-ci-db) and a
# non-default port, so a system cluster on 5432/3306 is never touched. No systemd: pg_ctl and
# mariadbd run in the background with every stream sent to a log file. A `rollcall` user owns a
# `rollcall` database on each; the tests wipe that database, so never point them at real data.
# Only `export ...` lines go to stdout; progress and errors go to stderr.
set -euo pipefail

DIR=${ROLLCALL_DB_DIR:-/tmp/rollcall-ci-db}
PG_PORT=${ROLLCALL_PG_PORT:-55432}
MY_PORT=${ROLLCALL_MY_PORT:-53306}
REDIS_PORT=${ROLLCALL_REDIS_PORT:-56379}
PG_DIR=$DIR/postgres
MY_DIR=$DIR/mariadb
REDIS_DIR=$DIR/redis
PASSWORD=rollcall

log() { echo "ci-databases: $*" >&2; }

install_packages() {
  local missing=()
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v mariadbd >/dev/null || command -v mysqld >/dev/null || missing+=(mariadb-server)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing ${missing[*]} and not root: install them with apt-get"
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d-less containers would try to start the services: we start our own instead.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Servers refuse to run as root: as root, run them as their packages' system users.
as_user() {
  local user=$1
  shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -1)
  local owner=postgres
  [ "$(id -u)" = 0 ] || owner=$(id -un)
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initialising PostgreSQL in $PG_DIR"
    mkdir -p "$PG_DIR"
    chown "$owner" "$PG_DIR"
    chmod 700 "$PG_DIR"
    as_user "$owner" "$bin/initdb" -D "$PG_DIR" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/postgres-initdb.log" 2>&1
  fi
  if ! as_user "$owner" "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_user "$owner" "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
      </dev/null >/dev/null
  fi
  local psql=("$bin/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [ "$(as_user "$owner" "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='rollcall'")" != 1 ]; then
    as_user "$owner" "${psql[@]}" -c "CREATE ROLE rollcall LOGIN CREATEDB PASSWORD '$PASSWORD'"
  fi
  if [ "$(as_user "$owner" "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='rollcall'")" != 1 ]; then
    as_user "$owner" "${psql[@]}" -c "CREATE DATABASE rollcall OWNER rollcall"
  fi
  echo "export ROLLCALL_TEST_POSTGRES_URL=postgresql+psycopg://rollcall:$PASSWORD@127.0.0.1:$PG_PORT/rollcall"
}

mariadb_server() { command -v mariadbd || command -v mysqld; }

start_mariadb() {
  local owner=mysql socket=$MY_DIR/mysqld.sock client
  [ "$(id -u)" = 0 ] || owner=$(id -un)
  client=$(command -v mariadb || command -v mysql)
  if [ ! -d "$MY_DIR/mysql" ]; then
    log "initialising MariaDB in $MY_DIR"
    mkdir -p "$MY_DIR"
    chown "$owner" "$MY_DIR"
    as_user "$owner" "$(command -v mariadb-install-db || command -v mysql_install_db)" \
      --no-defaults --datadir="$MY_DIR" --auth-root-authentication-method=socket \
      --auth-root-socket-user="$(id -un)" --skip-test-db >"$DIR/mariadb-install.log" 2>&1
  fi
  if ! "$client" --no-defaults -uroot --socket="$socket" -e "SELECT 1" >/dev/null 2>&1; then
    log "starting MariaDB on 127.0.0.1:$MY_PORT"
    # setsid + redirections: the server must not hold the caller's terminal or pipes open.
    setsid "$(mariadb_server)" --no-defaults --user="$owner" --datadir="$MY_DIR" \
      --socket="$socket" --port="$MY_PORT" --bind-address=127.0.0.1 \
      --pid-file="$MY_DIR/mysqld.pid" --log-error="$MY_DIR/error.log" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      --innodb-buffer-pool-size=64M --max-connections=200 \
      </dev/null >>"$MY_DIR/stdout.log" 2>&1 &
    local i
    for i in $(seq 1 60); do
      "$client" --no-defaults -uroot --socket="$socket" -e "SELECT 1" >/dev/null 2>&1 && break
      [ "$i" = 60 ] && { log "MariaDB did not start; see $MY_DIR/error.log"; return 1; }
      sleep 1
    done
  fi
  "$client" --no-defaults -uroot --socket="$socket" -e "
    CREATE DATABASE IF NOT EXISTS rollcall CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER IF NOT EXISTS 'rollcall'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
    CREATE USER IF NOT EXISTS 'rollcall'@'localhost' IDENTIFIED BY '$PASSWORD';
    GRANT ALL PRIVILEGES ON \`rollcall%\`.* TO 'rollcall'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON \`rollcall%\`.* TO 'rollcall'@'localhost';"
  echo "export ROLLCALL_TEST_MYSQL_URL=mysql+pymysql://rollcall:$PASSWORD@127.0.0.1:$MY_PORT/rollcall"
}

# Redis, the Celery broker of the worker tests: no persistence (a restart empties it, the
# harshest case for the workers), loopback only, its own port and folder.
start_redis() {
  mkdir -p "$REDIS_DIR"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" \
      --save "" --appendonly no --daemonize no --pidfile "$REDIS_DIR/redis.pid" \
      --logfile "$REDIS_DIR/redis.log" </dev/null >/dev/null 2>&1 &
    local i
    for i in $(seq 1 30); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      [ "$i" = 30 ] && { log "Redis did not start; see $REDIS_DIR/redis.log"; return 1; }
      sleep 0.5
    done
  fi
  echo "export ROLLCALL_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
}

stop_postgres() {
  local bin owner=postgres
  [ "$(id -u)" = 0 ] || owner=$(id -un)
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
  if [ -n "$bin" ] && [ -f "$PG_DIR/postmaster.pid" ]; then
    as_user "$owner" "$bin/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

stop_mariadb() {
  if [ -f "$MY_DIR/mysqld.pid" ]; then
    local pid
    pid=$(cat "$MY_DIR/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
}

stop_all() {
  stop_postgres
  stop_mariadb
  stop_redis
  log "stopped"
}

# Only a server this script started (its data folder exists) is restarted: never a system one.
restart() {
  local which=${1:-all} down=${2:-0}
  case "$which" in postgres | mariadb | redis | all) ;; *)
    log "restart what? postgres, mariadb, redis or all"
    return 2 ;;
  esac
  if [ "$which" = redis ]; then
    stop_redis
    log "down for $down s"
    sleep "$down"
    start_redis
    return
  fi
  if [ "$which" != mariadb ] && [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "no PostgreSQL of ours in $PG_DIR to restart"
    return 3
  fi
  if [ "$which" != postgres ] && [ ! -d "$MY_DIR/mysql" ]; then
    log "no MariaDB of ours in $MY_DIR to restart"
    return 3
  fi
  [ "$which" = mariadb ] || stop_postgres
  [ "$which" = postgres ] || stop_mariadb
  [ "$which" != all ] || stop_redis
  log "down for $down s"
  sleep "$down"
  [ "$which" = mariadb ] || start_postgres
  [ "$which" = postgres ] || start_mariadb
  [ "$which" != all ] || start_redis
}

case "${1:-start}" in
  start)
    install_packages
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    start_postgres
    start_mariadb
    start_redis ;;
  stop)
    stop_all ;;
  restart)
    restart "${2:-all}" "${3:-0}" ;;
  *)
    echo "usage: scripts/ci-databases.sh [start|stop|restart [postgres|mariadb|redis|all] [SECONDS]]" >&2
    exit 2 ;;
esac
