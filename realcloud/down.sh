#!/usr/bin/env bash
# Stop exactly what realcloud/up.sh started (`make realcloud-down`). Each PID file names a
# session leader (up.sh starts every service with setsid): signal that session's processes
# only, never anything found by name.
set -u
REALCLOUD_HOME="${REALCLOUD_HOME:-/opt/ipaas-realcloud}"
PIDS="$REALCLOUD_HOME/pids"
[ -d "$PIDS" ] || {
  echo "realcloud: nothing to stop"
  exit 0
}
# Nova first, PostgreSQL last.
ORDER="nova-compute nova-compute-doomed nova-scheduler nova-conductor nova-api neutron placement
  glance keystone postgres"
members() { pgrep -s "$1" 2>/dev/null; } # the processes of session $1
for name in $ORDER; do
  f="$PIDS/$name.pid"
  [ -f "$f" ] || continue
  sid=$(cat "$f")
  if [ -n "$(members "$sid")" ]; then
    kill -TERM -- "-$sid" 2>/dev/null || kill -TERM $(members "$sid") 2>/dev/null
    for _ in $(seq 40); do
      [ -z "$(members "$sid")" ] && break
      sleep 0.5
    done
    if [ -n "$(members "$sid")" ]; then
      kill -KILL $(members "$sid") 2>/dev/null
      echo "realcloud: $name ($sid) killed"
    else
      echo "realcloud: $name ($sid) stopped"
    fi
  fi
  rm -f "$f"
done
# The next start is a fresh cloud: its clouds.yaml must not point at this one.
rm -f "$REALCLOUD_HOME/clouds.yaml"
