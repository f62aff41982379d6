#!/usr/bin/env bash
# Start the project's real OpenStack test cloud: the genuine Keystone, Glance, Placement,
# Nova (fake virt driver, two compute hosts) and Neutron (ML2) from PyPI, on loopback.
#
#   bash realcloud/up.sh      # or `make realcloud-up`; stop with realcloud/down.sh
#
# Idempotent: a cloud already running and answering is left as it is. Otherwise whatever is
# left of an earlier one is stopped and a fresh cloud starts: the fake hypervisor keeps its
# instances in memory, and nova-compute cannot restart against an old database.
#
# Everything lives under $REALCLOUD_HOME (default /opt/ipaas-realcloud), outside any clone:
# the venv (installed once per machine, again only when constraints.txt changes), configs,
# databases, logs, PID files and clouds.yaml. One such cloud runs per machine.
#
# Needs root (apt-get for PostgreSQL when missing, `runuser postgres` for a private
# PostgreSQL, `rabbitmqctl` for a vhost of its own) and an AMQP broker on 127.0.0.1:5672.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REALCLOUD_HOME="${REALCLOUD_HOME:-/opt/ipaas-realcloud}"
VENV="$REALCLOUD_HOME/venv"
ST="$REALCLOUD_HOME/state"
PIDS="$REALCLOUD_HOME/pids"
CLOUDS_YAML="$REALCLOUD_HOME/clouds.yaml"
PY="${PYTHON:-python3}"
SERVICE_PASSWORD=secret
ADMIN_PASSWORD=secret
COMPUTE_HOST=host-ovs-filter-active   # the only host the ML2 `test` driver binds ports on
DOOMED_HOST=host-doomed               # every boot there fails (FakeBuildAbortDriver)
# Ports apart from cloudsim's 8774 (`make run`) and from the usual OpenStack ones, so that
# another OpenStack on this machine does not collide with this one.
KEYSTONE_PORT=15000 GLANCE_PORT=19292 PLACEMENT_PORT=18778 NOVA_PORT=18774 NEUTRON_PORT=19696
PG_PORT=55433
KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT"
# A vhost of its own on the machine's broker: Nova's queues ("conductor", "scheduler") would
# otherwise be shared with any other OpenStack that uses the same broker.
RABBIT_VHOST=ipaas-realcloud
TRANSPORT_URL="rabbit://guest:guest@127.0.0.1:5672/$RABBIT_VHOST"
NOVA_DB_BASE="postgresql+psycopg2://nova:nova@127.0.0.1:$PG_PORT"
NEUTRON_DB="postgresql+psycopg2://neutron:neutron@127.0.0.1:$PG_PORT/neutron"
PLACEMENT_DB="postgresql+psycopg2://placement:placement@127.0.0.1:$PG_PORT/placement"
SERVICES="keystone glance placement neutron nova-api nova-conductor nova-scheduler
  nova-compute nova-compute-doomed postgres"
export PYTHONWARNINGS=ignore   # eventlet's deprecation noise
T_START=$(date +%s)

log() { printf '[realcloud %4ss] %s\n' "$(($(date +%s) - T_START))" "$*"; }
die() {
  log "ERROR: $*"
  exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$REALCLOUD_HOME"
# Two `up`s at once (two clones, two make runs) would start two clouds on the same ports.
exec 9>"$REALCLOUD_HOME/up.lock"
flock -w 900 9 || die "another realcloud/up.sh has held $REALCLOUD_HOME/up.lock for 15 minutes"

# ---- 0. already running? -------------------------------------------------------------------
running() {
  local name
  for name in $SERVICES; do
    [ -f "$PIDS/$name.pid" ] && [ -n "$(pgrep -s "$(cat "$PIDS/$name.pid")" 2>/dev/null)" ] \
      || return 1
  done
  [ -f "$CLOUDS_YAML" ] && [ "$(cat "$ST/set-up.sha256" 2>/dev/null)" = "$SETUP_HASH" ] \
    && curl -sf -m 5 -o /dev/null "$KEYSTONE_URL/v3"
}
# A cloud started from other set-up files (another clone, an older commit) is restarted.
SETUP_HASH="$(cd "$HERE" && cat up.sh bootstrap.py neutron_schema.py wsgi_shim.py \
  constraints.txt templates/*.in | sha256sum | cut -c1-64)"
if running; then
  log "already running (clouds.yaml: $CLOUDS_YAML)"
  exit 0
fi
if ls "$PIDS"/*.pid >/dev/null 2>&1; then
  log "stopping what is left of an earlier cloud"
  bash "$HERE/down.sh"
fi
for port in $PG_PORT $KEYSTONE_PORT $GLANCE_PORT $PLACEMENT_PORT $NOVA_PORT $NEUTRON_PORT; do
  port_open "$port" && die "port $port on 127.0.0.1 is in use by something else"
done
port_open 5672 || die "no AMQP broker on 127.0.0.1:5672 (.ci/run starts RabbitMQ)"

# ---- 1. packages: skipped when present -----------------------------------------------------
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$PG_BIN" ] || ! command -v rabbitmqctl >/dev/null; then
  log "installing postgresql and rabbitmq-server (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    postgresql rabbitmq-server >/dev/null
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
STAMP="$VENV/.constraints-$(sha256sum "$HERE/constraints.txt" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  log "installing OpenStack from PyPI into $VENV (about a minute)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q -c "$HERE/constraints.txt" \
    keystone glance nova openstack-placement neutron \
    openstacksdk python-openstackclient gunicorn psycopg2-binary \
    >"$REALCLOUD_HOME/pip.log" 2>&1 || die "pip failed: see $REALCLOUD_HOME/pip.log"
  touch "$STAMP"
fi
B="$VENV/bin"

# ---- 2. fresh state and configs ------------------------------------------------------------
rm -rf "$ST" "$CLOUDS_YAML"
mkdir -p "$PIDS" "$ST"/{log,db,etc/{keystone,glance,placement,nova,neutron}} \
  "$ST"/keystone/{fernet-keys,credential-keys} "$ST"/glance/images \
  "$ST"/nova/{state,instances,lock} "$ST"/nova-doomed/{state,instances,lock} "$ST"/neutron/lock
render() { # template -> file
  sed -e "s|@STATE@|$ST|g" -e "s|@SERVICE_PASSWORD@|$SERVICE_PASSWORD|g" \
    -e "s|@COMPUTE_HOST@|$COMPUTE_HOST|g" -e "s|@DOOMED_HOST@|$DOOMED_HOST|g" \
    -e "s|@NEUTRON_MECH@|test|g" -e "s|@KEYSTONE_URL@|$KEYSTONE_URL|g" \
    -e "s|@NOVA_DB_BASE@|$NOVA_DB_BASE|g" -e "s|@NEUTRON_DB@|$NEUTRON_DB|g" \
    -e "s|@PLACEMENT_DB@|$PLACEMENT_DB|g" \
    -e "s|@TRANSPORT_URL@|$TRANSPORT_URL|g" \
    "$HERE/templates/$1.in" >"$2"
}
render keystone.conf "$ST/etc/keystone/keystone.conf"
render glance-api.conf "$ST/etc/glance/glance-api.conf"
render placement.conf "$ST/etc/placement/placement.conf"
render nova.conf "$ST/etc/nova/nova.conf"
render nova-compute-doomed.conf "$ST/etc/nova/nova-compute-doomed.conf"
render neutron.conf "$ST/etc/neutron/neutron.conf"
cp "$VENV/etc/glance/glance-api-paste.ini" "$ST/etc/glance/"
cp "$VENV/etc/nova/api-paste.ini" "$ST/etc/nova/"
cp "$VENV/etc/neutron/api-paste.ini" "$ST/etc/neutron/"

# start NAME CMD...: in a session of its own (its id is the PID written), output to a log,
# without the lock of this script (fd 9), which would otherwise be held as long as it runs.
start() {
  local name=$1
  shift
  setsid "$@" >"$ST/log/$name.out" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDS/$name.pid"
  disown # a service killed on purpose (a restart) is not this script's error to report
}
start_wsgi() { # NAME PORT MODULE [ENV=VALUE ...]
  local name=$1 port=$2 module=$3
  shift 3
  start "$name" env PYTHONPATH="$HERE" REALCLOUD_WSGI_MODULE="$module" "$@" \
    "$B/gunicorn" --no-control-socket -b "127.0.0.1:$port" -w 1 --threads 4 \
    -k gthread --timeout 120 --keep-alive 75 wsgi_shim:application
}
wait_http() { # URL NAME [SECONDS]
  local i
  for i in $(seq $((${3:-90} * 2))); do
    curl -s -m 3 -o /dev/null "$1" && {
      log "$2 up"
      return 0
    }
    [ -n "$(pgrep -s "$(cat "$PIDS/$2.pid")")" ] || die "$2 died: see $ST/log/$2.out"
    sleep 0.5
  done
  die "$2 not answering on $1"
}

# ---- 3. the broker's vhost, emptied of an earlier cloud's messages ---------------------------
rabbitmqctl -q delete_vhost "$RABBIT_VHOST" >/dev/null 2>&1 || true
rabbitmqctl -q add_vhost "$RABBIT_VHOST" >/dev/null
rabbitmqctl -q set_permissions -p "$RABBIT_VHOST" guest ".*" ".*" ".*" >/dev/null
log "vhost $RABBIT_VHOST ready on the broker at 127.0.0.1:5672"

# ---- 4. a private PostgreSQL for Nova, Neutron and Placement --------------------------------
# On SQLite they fail with "database is locked" under concurrent builds (a multi-create), and
# Placement when the two compute hosts report their resources at once.
mkdir -p "$ST/pg"
chown postgres "$ST/pg"
chmod 700 "$ST/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$ST/pg/data" -A trust -U postgres >/dev/null
start postgres runuser -u postgres -- "$PG_BIN/postgres" -D "$ST/pg/data" \
  -h 127.0.0.1 -p "$PG_PORT" -k "$ST/pg" -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off
for _ in $(seq 60); do
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.5
done
psql_pg() { "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_pg -c "CREATE ROLE nova LOGIN PASSWORD 'nova'"
for db in nova_api nova nova_cell0; do psql_pg -c "CREATE DATABASE $db OWNER nova"; done
psql_pg -c "CREATE ROLE neutron LOGIN PASSWORD 'neutron'"
psql_pg -c "CREATE DATABASE neutron OWNER neutron"
psql_pg -c "CREATE ROLE placement LOGIN PASSWORD 'placement'"
psql_pg -c "CREATE DATABASE placement OWNER placement"
log "postgresql up on 127.0.0.1:$PG_PORT"

# ---- 5. schemas ----------------------------------------------------------------------------
quiet() { "$@" >>"$ST/log/db-sync.out" 2>&1 || die "failed: $* (see $ST/log/db-sync.out)"; }
KC="$ST/etc/keystone/keystone.conf"
NC="$ST/etc/nova/nova.conf"
quiet "$B/keystone-manage" --config-file "$KC" db_sync
quiet "$B/keystone-manage" --config-file "$KC" fernet_setup --keystone-user root \
  --keystone-group root
quiet "$B/keystone-manage" --config-file "$KC" credential_setup --keystone-user root \
  --keystone-group root
quiet "$B/keystone-manage" --config-file "$KC" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
  --bootstrap-admin-url "$KEYSTONE_URL/v3/" --bootstrap-public-url "$KEYSTONE_URL/v3/" \
  --bootstrap-internal-url "$KEYSTONE_URL/v3/" --bootstrap-region-id RegionOne
quiet env OS_GLANCE_CONFIG_DIR="$ST/etc/glance" "$B/glance-manage" \
  --config-file "$ST/etc/glance/glance-api.conf" db_sync
quiet "$B/placement-manage" --config-file "$ST/etc/placement/placement.conf" db sync
quiet "$B/nova-manage" --config-file "$NC" api_db sync
quiet "$B/nova-manage" --config-file "$NC" cell_v2 map_cell0 \
  --database_connection "$NOVA_DB_BASE/nova_cell0"
quiet "$B/nova-manage" --config-file "$NC" cell_v2 create_cell --name=cell1
quiet "$B/nova-manage" --config-file "$NC" db sync
# Neutron's migrations speak MySQL only: build the schema from its models, then stamp it.
quiet "$B/python" "$HERE/neutron_schema.py" "$NEUTRON_DB"
quiet "$B/neutron-db-manage" --config-file "$ST/etc/neutron/neutron.conf" stamp heads
# Keystone and Glance stay on SQLite, in WAL mode against "database is locked".
for db in "$ST"/db/*.db; do
  "$B/python" -c "import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute('pragma journal_mode=wal')" "$db"
done
log "schemas made"

# ---- 6. Keystone and the identity seed -----------------------------------------------------
export REALCLOUD_KEYSTONE_URL="$KEYSTONE_URL" REALCLOUD_GLANCE_PORT="$GLANCE_PORT" \
  REALCLOUD_PLACEMENT_PORT="$PLACEMENT_PORT" REALCLOUD_NOVA_PORT="$NOVA_PORT" \
  REALCLOUD_NEUTRON_PORT="$NEUTRON_PORT" REALCLOUD_COMPUTE_HOST="$COMPUTE_HOST" \
  REALCLOUD_DOOMED_HOST="$DOOMED_HOST"
start_wsgi keystone "$KEYSTONE_PORT" keystone.wsgi.api OS_KEYSTONE_CONFIG_DIR="$ST/etc/keystone" \
  OS_KEYSTONE_CONFIG_FILES=keystone.conf
wait_http "$KEYSTONE_URL/v3" keystone
"$B/python" "$HERE/bootstrap.py" identity

# ---- 7. Glance, Placement, Neutron, Nova ---------------------------------------------------
start_wsgi glance "$GLANCE_PORT" glance.wsgi.api OS_GLANCE_CONFIG_DIR="$ST/etc/glance"
start_wsgi placement "$PLACEMENT_PORT" placement.wsgi.api \
  OS_PLACEMENT_CONFIG_DIR="$ST/etc/placement"
# PYTHONOPTIMIZE strips the asserts of the ML2 `test` driver, which checks unit-test call
# patterns (e.g. "assert context.original is None") that Nova's port binding breaks.
start_wsgi neutron "$NEUTRON_PORT" neutron.wsgi.api PYTHONOPTIMIZE=1 \
  OS_NEUTRON_CONFIG_DIR="$ST/etc/neutron" OS_NEUTRON_CONFIG_FILES=neutron.conf
start_wsgi nova-api "$NOVA_PORT" nova.wsgi.osapi_compute OS_NOVA_CONFIG_DIR="$ST/etc/nova"
# Nova's own services. Conductor and scheduler come first and each must be taking messages
# from its queue before a compute starts: a compute that starts earlier waits on conductor,
# and a stalled start must be seen here, with its log, not as a cloud that never serves.
nova_start() { # NAME
  local extra=()
  [ "$1" = nova-compute-doomed ] \
    && extra=(--config-file "$ST/etc/nova/nova-compute-doomed.conf")
  start "$1" "$B/${1%-doomed}" --config-file "$NC" "${extra[@]}" --log-file "$ST/log/$1.log"
}
nova_restart() { # NAME: stop its whole session, then start it again
  local sid
  sid="$(cat "$PIDS/$1.pid")"
  kill -KILL -- "-$sid" 2>/dev/null || true
  for _ in $(seq 20); do
    [ -z "$(pgrep -s "$sid")" ] && break
    sleep 0.5
  done
  nova_start "$1"
}
show_log() { # NAME: the last lines worth reading of a service's logs, on stderr
  local f names=$1
  # A compute that does not register may be waiting on conductor: show conductor's log too.
  [ "${1#nova-compute}" != "$1" ] && names="$1 nova-conductor"
  for f in $(for n in $names; do echo "$ST/log/$n.out" "$ST/log/$n.log"; done); do
    [ -s "$f" ] || continue
    echo "---- last of $f" >&2
    grep -v ' DEBUG \|^ ' "$f" | tail -n 15 | cut -c1-400 >&2
  done
}
consuming() { # QUEUE: a consumer takes messages from it on the cloud's vhost
  rabbitmqctl -q list_queues -p "$RABBIT_VHOST" name consumers 2>/dev/null \
    | awk -v q="$1" '$1 == q && $2 > 0 { found = 1 } END { exit !found }'
}
pg_has() { # DATABASE QUERY: the query returns a row
  local rows
  rows="$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAq -d "$1" -c "$2" 2>/dev/null)"
  [ -n "$rows" ]
}
registered() { pg_has nova "SELECT 1 FROM compute_nodes WHERE host = '$1' AND deleted = 0"; }
mapped() { pg_has nova_api "SELECT 1 FROM host_mappings WHERE host = '$1'"; }
# await NAME SECONDS WHAT CHECK...: wait until CHECK succeeds. A service that dies fails the
# start; one that is still not WHAT after SECONDS is restarted once, its log shown first.
await() {
  local name=$1 seconds=$2 what=$3 attempt deadline
  shift 3
  for attempt in 1 2; do
    deadline=$(($(date +%s) + seconds))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      "$@" && return 0
      if [ -z "$(pgrep -s "$(cat "$PIDS/$name.pid")")" ]; then
        show_log "$name"
        die "$name died: see $ST/log/$name.log"
      fi
      sleep 1
    done
    show_log "$name"
    [ "$attempt" = 2 ] && die "$name is not $what after a restart: see $ST/log/$name.log"
    log "WARNING: $name is not $what after $seconds s; restarting it once"
    nova_restart "$name"
  done
}
nova_start nova-conductor
nova_start nova-scheduler
wait_http "http://127.0.0.1:$GLANCE_PORT/" glance
wait_http "http://127.0.0.1:$PLACEMENT_PORT/" placement
wait_http "http://127.0.0.1:$NEUTRON_PORT/" neutron
wait_http "http://127.0.0.1:$NOVA_PORT/" nova-api
await nova-conductor 90 "taking messages" consuming conductor
await nova-scheduler 90 "taking messages" consuming scheduler
log "nova-conductor and nova-scheduler taking messages"
nova_start nova-compute
nova_start nova-compute-doomed

# ---- 8. map both compute hosts, seed flavors, image, networks ------------------------------
await nova-compute 90 "registered" registered "$COMPUTE_HOST"
await nova-compute-doomed 90 "registered" registered "$DOOMED_HOST"
# The scheduler maps new hosts every 5 s as well, and nova-manage fails when the two collide
# on the same host: it is run again until both mappings are there.
for _ in $(seq 10); do
  mapped "$COMPUTE_HOST" && mapped "$DOOMED_HOST" && break
  "$B/nova-manage" --config-file "$NC" cell_v2 discover_hosts >>"$ST/log/db-sync.out" 2>&1 \
    || sleep 1
done
mapped "$COMPUTE_HOST" && mapped "$DOOMED_HOST" \
  || die "compute hosts registered but not mapped to cell1: see $ST/log/db-sync.out"
log "compute hosts mapped"
head -c 1048576 /dev/urandom >"$ST/fake.img"
IMAGE_FILE="$ST/fake.img" "$B/python" "$HERE/bootstrap.py" resources

entry() { # NAME USER PASSWORD PROJECT
  printf '  %s:\n    region_name: RegionOne\n    auth:\n' "$1"
  printf '      %s: %s\n' auth_url "$KEYSTONE_URL/v3" username "$2" password "$3" \
    project_name "$4" user_domain_name Default project_domain_name Default
}
{
  echo "# Written by realcloud/up.sh. realcloud-admin is the portal's service account (admin,"
  echo "# with a role in devel and staging); realcloud-demo is a tenant user of devel."
  echo "clouds:"
  entry realcloud-admin admin "$ADMIN_PASSWORD" admin
  entry realcloud-demo demo demo devel
} >"$CLOUDS_YAML.tmp"
mv "$CLOUDS_YAML.tmp" "$CLOUDS_YAML"
echo "$SETUP_HASH" >"$ST/set-up.sha256"
log "READY in $(($(date +%s) - T_START)) s:" \
  "OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML OS_CLOUD=realcloud-demo"
