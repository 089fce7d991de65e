#!/usr/bin/env bash
# Local real infrastructure for integration tests: Kafka (KRaft), PostgreSQL 15, Neo4j 5.26,
# and Prometheus (scraping the six services, loading deploy/prometheus/rules).
# No Docker: Kafka and Neo4j run from Maven Central jars, Postgres and Prometheus from Debian
# packages (Prometheus extracted into .cache/prometheus, not installed).
#
#   infra.sh fetch   [component...]   download/cache what is needed (idempotent, no server started)
#   infra.sh up      [component...]   fetch if needed, init state if needed, start, wait until ready
#   infra.sh down    [component...]   graceful stop (SIGTERM, up to 30 s, then SIGKILL)
#   infra.sh kill    component        SIGKILL (chaos tests)
#   infra.sh restart [component...]
#   infra.sh status  [component...]   one line per component: running/stopped, pid, address
#   infra.sh reset                    down all + wipe the state dir data (not the caches)
#   infra.sh env                      export lines for TGI_KAFKA_BOOTSTRAP, TGI_POSTGRES_DSN, TGI_NEO4J_URI,
#                                     TGI_PROMETHEUS_URL and TGI_INTERNAL_TOKEN
#
# Components: kafka postgres neo4j prometheus (default: all four). See deploy/local/README.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd -P)
STATE=$(realpath -m "${TGI_STATE_DIR:-$REPO/.state}")
CACHE=$(realpath -m "${TGI_CACHE_DIR:-$REPO/.cache}")
ALL_COMPONENTS=(kafka postgres neo4j prometheus)

HOST=127.0.0.1
KAFKA_PORT=${TGI_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${TGI_KAFKA_CONTROLLER_PORT:-19093}
POSTGRES_PORT=${TGI_POSTGRES_PORT:-55432}
POSTGRES_DB=${TGI_POSTGRES_DB:-tgint}
NEO4J_BOLT_PORT=${TGI_NEO4J_BOLT_PORT:-17687}
PROMETHEUS_PORT=${TGI_PROMETHEUS_PORT:-19090}

KAFKA_TIMEOUT=${TGI_KAFKA_TIMEOUT:-90}
NEO4J_TIMEOUT=${TGI_NEO4J_TIMEOUT:-150}
POSTGRES_TIMEOUT=${TGI_POSTGRES_TIMEOUT:-30}
PROMETHEUS_TIMEOUT=${TGI_PROMETHEUS_TIMEOUT:-60}
STOP_TIMEOUT=${TGI_STOP_TIMEOUT:-30}
# 1 = `up` starts Kafka and Neo4j at the same time (after Postgres). Measured on 2 cores it
# saves only ~0.5 s of ~11 s and blurs the per-component start-up times, so the default is
# one after the other. `down` always stops components concurrently.
PARALLEL=${TGI_INFRA_PARALLEL:-0}

JAVA17_DEFAULT=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
PG_MAJOR=15

# Versions: single source of truth is the <x.version> property in each pom.
pom_prop() { sed -n "s:.*<$2>\\([^<]*\\)</$2>.*:\\1:p" "$1" | head -n 1; }
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
NEO4J_POM=$SCRIPT_DIR/neo4j/pom.xml
KAFKA_VERSION=$(pom_prop "$KAFKA_POM" kafka.version)
NEO4J_VERSION=$(pom_prop "$NEO4J_POM" neo4j.version)
KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
NEO4J_HOME=$CACHE/neo4j-$NEO4J_VERSION

# ---------------------------------------------------------------------------- helpers
log() { printf '%s\n' "$*"; }
warn() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

logfile() { echo "$STATE/logs/$1.log"; }
# The local deployment's internal API token (servicekit/auth.py): $TGI_INTERNAL_TOKEN if set,
# else one made once, kept in $STATE/internal-token (mode 600).
internal_token() {
  if [[ -n ${TGI_INTERNAL_TOKEN:-} ]]; then printf '%s' "$TGI_INTERNAL_TOKEN"; return; fi
  local f="$STATE/internal-token"
  if [[ ! -s $f ]]; then
    mkdir -p "$STATE"
    (umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$f.tmp") && mv "$f.tmp" "$f"
  fi
  cat "$f"
}
pidfile() { echo "$STATE/pids/$1.pid"; }

address() {
  case $1 in
    kafka) echo "$HOST:$KAFKA_PORT" ;;
    postgres) echo "$HOST:$POSTGRES_PORT" ;;
    neo4j) echo "bolt://$HOST:$NEO4J_BOLT_PORT" ;;
    prometheus) echo "http://$HOST:$PROMETHEUS_PORT" ;;
  esac
}
port_of() {
  case $1 in
    kafka) echo "$KAFKA_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;;
    neo4j) echo "$NEO4J_BOLT_PORT" ;;
    prometheus) echo "$PROMETHEUS_PORT" ;;
  esac
}
timeout_of() {
  case $1 in
    kafka) echo "$KAFKA_TIMEOUT" ;;
    postgres) echo "$POSTGRES_TIMEOUT" ;;
    neo4j) echo "$NEO4J_TIMEOUT" ;;
    prometheus) echo "$PROMETHEUS_TIMEOUT" ;;
  esac
}

# Process exists and is not a zombie.
alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z ]]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Fail with the last 60 lines of the component's log.
fail_with_log() {
  local comp=$1 msg=$2 lf
  lf=$(logfile "$comp")
  {
    printf 'infra: error: %s\n' "$msg"
    printf -- '----- last 60 lines of %s -----\n' "$lf"
    tail -n 60 "$lf" 2>/dev/null || true
    printf -- '----- end of %s -----\n' "$lf"
    if [[ $comp == neo4j ]]; then
      printf 'infra: (Neo4j internals: %s)\n' "$STATE/neo4j/logs/debug.log"
    fi
  } >&2
  exit 1
}

# Keep one previous log; the new run writes a fresh file (readiness greps only this run).
rotate_log() {
  local lf
  lf=$(logfile "$1")
  mkdir -p "$STATE/logs"
  [[ -f $lf ]] && mv -f "$lf" "$lf.prev"
  : >"$lf"
}

# Exclusive per-component lock (fd 9) so concurrent infra.sh calls do not race.
# Every process we launch closes fd 9 (9>&-), so servers never hold the lock.
lock_component() {
  mkdir -p "$STATE/locks"
  exec 9>"$STATE/locks/$1.lock"
  flock -w 600 9 || die "could not lock $1 (another infra.sh still running?)"
}
unlock_component() { exec 9>&-; }

# ---------------------------------------------------------------------------- java / maven
JAVA_BIN=
java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1; }
find_java() {
  [[ -n $JAVA_BIN ]] && return 0
  local cand v
  for cand in "${TGI_JAVA:-}" "$JAVA17_DEFAULT" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
    [[ -n $cand && -x $cand ]] || continue
    if [[ $cand == "$JAVA17_DEFAULT" ]]; then JAVA_BIN=$cand; return 0; fi
    v=$(java_major "$cand")
    if [[ -n $v ]] && ((v >= 17 && v <= 21)); then JAVA_BIN=$cand; return 0; fi
  done
  die "no Java 17-21 found (expected $JAVA17_DEFAULT; apt-get install -y openjdk-17-jdk-headless)"
}
java_home_of() { dirname "$(dirname "$(readlink -f "$1")")"; }

# copy-dependencies of <pom> into <home>/libs, atomically; marker = sha256 of the pom.
maven_libs() {
  local comp=$1 pom=$2 home=$3 want have tmp flog t0
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  have=$(cat "$home/.complete" 2>/dev/null || true)
  [[ $want == "$have" && -d $home/libs ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  find_java
  mkdir -p "$home"
  exec 8>"$home/.fetch.lock"
  flock -w 1200 8 || die "could not lock $home"
  have=$(cat "$home/.complete" 2>/dev/null || true)
  if [[ $want == "$have" && -d $home/libs ]]; then exec 8>&-; return 0; fi
  t0=$(now)
  log "$comp: fetching jars with Maven into $home/libs ..."
  tmp=$home/libs.tmp.$$
  flog=$home/fetch.log
  rm -rf "$tmp"
  local -a mvn_args=(-B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies
    -DincludeScope=runtime "-DoutputDirectory=$tmp")
  [[ -n ${TGI_MAVEN_REPO:-} ]] && mvn_args+=("-Dmaven.repo.local=$TGI_MAVEN_REPO")
  if ! JAVA_HOME=$(java_home_of "$JAVA_BIN") mvn "${mvn_args[@]}" </dev/null >"$flog" 2>&1 9>&- 8>&-; then
    tail -n 60 "$flog" >&2
    rm -rf "$tmp"
    exec 8>&-
    die "$comp: Maven fetch failed (full output: $flog)"
  fi
  rm -rf "$home/libs"
  mv "$tmp" "$home/libs"
  echo "$want" >"$home/.complete"
  exec 8>&-
  local secs
  secs=$(elapsed "$t0")
  mkdir -p "$STATE/timings"
  echo "$secs" >"$STATE/timings/$comp.fetch_s"
  log "$comp: fetched $(find "$home/libs" -name "*.jar" | wc -l) jars ($(du -sh "$home/libs" | cut -f1)) in $secs s"
}

# ---------------------------------------------------------------------------- process tracking
# Prints the pid of the component's server if it is running, else nothing (status 1).
proc_matches() { # pid needle...
  local pid=$1 cmd
  shift
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  local n
  for n in "$@"; do [[ $cmd == *"$n"* ]] || return 1; done
}
needles() {
  case $1 in
    kafka) echo "kafka.Kafka" "$STATE/kafka/server.properties" ;;
    neo4j) echo "Neo4jServer" "$STATE/neo4j" ;;
    postgres) echo "postgres" "$STATE/postgres/data" ;;
    prometheus) echo "prometheus" "$STATE/prometheus/prometheus.yml" ;;
  esac
}
running_pid() {
  local comp=$1 pf pid
  local -a nd
  read -r -a nd <<<"$(needles "$comp")"
  pf=$(pidfile "$comp")
  pid=$(cat "$pf" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && proc_matches "$pid" "${nd[@]}"; then echo "$pid"; return 0; fi
  # No/stale pid file: look for our own server by its unique state path.
  if [[ $comp == postgres ]]; then
    pid=$(head -n 1 "$STATE/postgres/data/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && proc_matches "$pid" "${nd[@]}"; then
      mkdir -p "$STATE/pids"; echo "$pid" >"$pf"; echo "$pid"; return 0
    fi
  else
    local p
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      local comm
      comm=$(cat "/proc/$p/comm" 2>/dev/null || true)
      if proc_matches "$p" "${nd[@]}" && [[ $comm == java || $comm == prometheus ]]; then
        mkdir -p "$STATE/pids"; echo "$p" >"$pf"; echo "$p"; return 0
      fi
    done
  fi
  return 1
}

# Start "$@" detached (own session, survives the caller), stdout/stderr appended to the log,
# its pid (the exec'd program keeps the shell's pid) written to the pid file.
launch_detached() {
  local comp=$1
  shift
  mkdir -p "$STATE/pids"
  rm -f "$(pidfile "$comp")"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner bash
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile "$comp")" "$@" \
    </dev/null >>"$(logfile "$comp")" 2>&1 9>&- 8>&- &
  local i
  for i in $(seq 1 100); do
    [[ -s $(pidfile "$comp") ]] && break
    sleep 0.05
  done
}

write_timing() { mkdir -p "$STATE/timings"; echo "$2" >"$STATE/timings/$1.startup_s"; }

# Wait until <check> succeeds; fail (with log tail) on timeout or if <pid> dies.
# With kill_on_timeout=1 a server that is not ready in time is SIGKILLed (no half-started leftovers).
wait_until() { # comp pid timeout check-fn [kill_on_timeout]
  local comp=$1 pid=$2 tmo=$3 check=$4 kot=${5:-0} t0
  t0=$(now)
  while :; do
    if $check; then return 0; fi
    if ! alive "$pid"; then
      fail_with_log "$comp" "$comp died during start-up (pid $pid)"
    fi
    if awk -v a="$t0" -v b="$(now)" -v t="$tmo" 'BEGIN { exit !(b - a >= t) }'; then
      if [[ $kot == 1 ]]; then
        kill_tree "$pid"
        rm -f "$(pidfile "$comp")"
        fail_with_log "$comp" "$comp not ready after $tmo s (killed pid $pid)"
      fi
      fail_with_log "$comp" "$comp not ready after $tmo s (pid $pid still running)"
    fi
    sleep 0.25
  done
}

# SIGKILL a server and its child processes (Postgres backends are in their own sessions,
# so the process group is not enough). Children are listed before the parent dies.
kill_tree() { # pid
  local pid=$1 kids
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ' || true)
  kill -KILL "$pid" 2>/dev/null || true
  if [[ -n ${kids// /} ]]; then
    # shellcheck disable=SC2086
    kill -KILL $kids 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
}

# Graceful stop: SIGTERM, wait, SIGKILL after STOP_TIMEOUT.
stop_pid() { # comp pid
  local comp=$1 pid=$2 t0 i
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    alive "$pid" || break
    sleep 0.2
  done
  if alive "$pid"; then
    warn "$comp (pid $pid) still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill_tree "$pid"
  fi
  rm -f "$(pidfile "$comp")"
  log "$comp stopped (pid $pid) in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------------------- kafka
kafka_fetch() { find_java; maven_libs kafka "$KAFKA_POM" "$KAFKA_HOME"; }

kafka_write_config() {
  local d=$STATE/kafka
  cat >"$d/server.properties" <<EOF
# Generated by deploy/local/infra.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data

# single node
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# big messages (tests send 5 MB)
message.max.bytes=16777216
replica.fetch.max.bytes=16777216

log.retention.hours=168

# small machine
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
EOF
  # Extra/override properties, e.g. TGI_KAFKA_EXTRA_PROPS="broker.session.timeout.ms=4000 num.partitions=3"
  local kv
  for kv in ${TGI_KAFKA_EXTRA_PROPS:-}; do echo "$kv" >>"$d/server.properties"; done
}

kafka_jvm_opts=(-Xms256m -Xmx1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
  -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true)
kafka_tool_opts=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Djava.net.preferIPv4Stack=true)

kafka_init() {
  local d=$STATE/kafka id
  mkdir -p "$d/data"
  kafka_write_config
  [[ -f $d/data/meta.properties ]] && return 0
  if [[ ! -s $d/cluster.id ]]; then
    # Kafka Uuid text form: base64url of 16 random bytes, no padding, not starting with '-'.
    id=-
    while [[ $id == -* ]]; do
      id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    echo "$id" >"$d/cluster.id"
  fi
  id=$(cat "$d/cluster.id")
  if ! "$JAVA_BIN" "${kafka_tool_opts[@]}" -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/tools-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" \
    >>"$(logfile kafka)" 2>&1 9>&-; then
    fail_with_log kafka "kafka storage format failed"
  fi
}

kafka_light_ready() {
  port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$(logfile kafka)" 2>/dev/null
}
# A real broker round trip with the kafka-tools ApiVersions command.
kafka_ready() {
  kafka_light_ready || return 1
  timeout 30 "$JAVA_BIN" "${kafka_tool_opts[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/tools-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "$HOST:$KAFKA_PORT" >"$STATE/kafka/apiversions.out" 2>&1 9>&-
}

kafka_start() {
  rotate_log kafka
  kafka_init
  launch_detached kafka "$JAVA_BIN" "${kafka_jvm_opts[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$STATE/kafka/logs" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$STATE/kafka/server.properties"
}

# ---------------------------------------------------------------------------- neo4j
neo4j_fetch() {
  find_java
  if ! "$JAVA_BIN" --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; then
    die "neo4j: $JAVA_BIN has no jdk.compiler (needed to run Neo4jServer.java); apt-get install -y openjdk-17-jdk-headless"
  fi
  maven_libs neo4j "$NEO4J_POM" "$NEO4J_HOME"
}

neo4j_jvm_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow
  -XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC
  -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED
  -Dlog4j2.disable.jmx=true -Djava.net.preferIPv4Stack=true -Djava.awt.headless=true)

neo4j_light_ready() {
  grep -q "^NEO4J READY" "$(logfile neo4j)" 2>/dev/null && port_open "$NEO4J_BOLT_PORT"
}
neo4j_ready() { neo4j_light_ready; }

neo4j_start() {
  rotate_log neo4j
  mkdir -p "$STATE/neo4j"
  launch_detached neo4j "$JAVA_BIN" "${neo4j_jvm_opts[@]}" -cp "$NEO4J_HOME/libs/*" \
    "$SCRIPT_DIR/neo4j/Neo4jServer.java" "$STATE/neo4j" "$NEO4J_BOLT_PORT" 128
}

# ---------------------------------------------------------------------------- postgres
PG_BIN=${TGI_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
as_pg() { # run a server command as the postgres OS user (the server refuses root)
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_fetch() {
  [[ -x $PG_BIN/postgres && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && return 0
  [[ $EUID -eq 0 ]] || die "postgres: $PG_BIN/postgres missing; as root: apt-get install -y postgresql-$PG_MAJOR"
  local t0
  t0=$(now)
  log "postgres: installing postgresql-$PG_MAJOR (Debian package, no default cluster) ..."
  export DEBIAN_FRONTEND=noninteractive
  local -a apt=(apt-get install -y -q --no-upgrade -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  # postgresql-common first, so its createcluster.conf exists before we append to it.
  if [[ ! -f /etc/postgresql-common/createcluster.conf ]]; then
    "${apt[@]}" postgresql-common 9>&- || { apt-get update -q 9>&- && "${apt[@]}" postgresql-common 9>&-; }
  fi
  local conf=/etc/postgresql-common/createcluster.conf
  if ! grep -Eq '^[[:space:]]*create_main_cluster[[:space:]]*=[[:space:]]*(false|off|no)' "$conf" 2>/dev/null; then
    printf '\n# added by deploy/local/infra.sh: no default cluster on install\ncreate_main_cluster = false\n' >>"$conf"
  fi
  "${apt[@]}" "postgresql-$PG_MAJOR" 9>&- || { apt-get update -q 9>&- && "${apt[@]}" "postgresql-$PG_MAJOR" 9>&-; }
  [[ -x $PG_BIN/postgres ]] || die "postgres: install did not provide $PG_BIN/postgres"
  mkdir -p "$STATE/timings"
  elapsed "$t0" >"$STATE/timings/postgres.fetch_s"
}

postgres_init() {
  local d=$STATE/postgres
  mkdir -p "$d/run"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$d" "$d/run" "$(logfile postgres)"
  as_pg test -w "$d" || die "postgres: the postgres OS user cannot write $d (a parent dir not traversable?)"
  [[ -f $d/data/PG_VERSION ]] && return 0
  rm -rf "$d/data"
  if ! as_pg "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >>"$(logfile postgres)" 2>&1 9>&-; then
    fail_with_log postgres "initdb failed"
  fi
}

postgres_opts() {
  echo "-p $POSTGRES_PORT -k '$STATE/postgres/run' -c listen_addresses=$HOST -c fsync=off" \
    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
}

psql_cmd() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$POSTGRES_PORT" -U postgres "$@"; }

postgres_light_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" -U postgres 2>/dev/null; }

postgres_start() {
  rotate_log postgres
  postgres_init
  local lf pm opid i
  lf=$(logfile postgres)
  # After `kill`, the dead postmaster can linger as a zombie until init reaps it (about 2 s
  # here); Postgres takes a zombie pid in postmaster.pid for a running server and refuses to start.
  pm=$STATE/postgres/data/postmaster.pid
  opid=$(head -n 1 "$pm" 2>/dev/null || true)
  if [[ $opid =~ ^[0-9]+$ ]] && ! alive "$opid"; then
    for ((i = 0; i < 100; i++)); do [[ -e /proc/$opid ]] || break; sleep 0.1; done
    if [[ -e /proc/$opid ]]; then rm -f "$pm"; fi
  fi
  # pg_ctl -w waits until the server accepts connections; pg_ctl itself puts the postmaster
  # in its own session (setsid), so it survives the caller.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" -l "$lf" -w -t "$POSTGRES_TIMEOUT" \
    -o "$(postgres_opts)" start </dev/null >"$STATE/postgres/pg_ctl.out" 2>&1 9>&-; then
    cat "$STATE/postgres/pg_ctl.out" >>"$lf" 2>/dev/null || true
    fail_with_log postgres "pg_ctl start failed or timed out"
  fi
  local pid
  pid=$(head -n 1 "$STATE/postgres/data/postmaster.pid")
  mkdir -p "$STATE/pids"
  echo "$pid" >"$(pidfile postgres)"
  # CREATE DATABASE must be its own statement (no transaction block).
  if [[ -z $(psql_cmd -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$POSTGRES_DB'" 2>>"$lf") ]]; then
    psql_cmd -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >>"$lf" 2>&1 ||
      fail_with_log postgres "CREATE DATABASE $POSTGRES_DB failed"
  fi
}
postgres_ready() { postgres_light_ready && psql_cmd -d "$POSTGRES_DB" -tAc 'SELECT 1' >/dev/null 2>&1; }

postgres_stop() { # pid
  local pid=$1 t0
  t0=$(now)
  # fast shutdown (SIGINT: roll back clients); smart (SIGTERM) would wait for every client.
  as_pg "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" -m fast -w -t "$STOP_TIMEOUT" stop \
    >>"$(logfile postgres)" 2>&1 9>&- || true
  local i
  for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done # pid file goes first
  if alive "$pid"; then
    warn "postgres (pid $pid) still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill_tree "$pid"
  fi
  rm -f "$(pidfile postgres)"
  log "postgres stopped (pid $pid) in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------------------- prometheus
# Debian's package, extracted (not installed) by deploy/prometheus/ensure-promtool.sh.
PROM_DIR=$(cd "$SCRIPT_DIR/../prometheus" && pwd -P)
PROM_BIN=
prometheus_fetch() {
  [[ -n $PROM_BIN ]] && return 0
  PROM_BIN=$(TGI_CACHE_DIR=$CACHE "$PROM_DIR/ensure-promtool.sh" prometheus 9>&-) ||
    die "prometheus: could not obtain Debian's prometheus package"
}

# The committed config with this machine's service ports and the rules' absolute path.
prometheus_write_config() {
  local d=$STATE/prometheus svc port i=0
  mkdir -p "$d/data"
  local -a expr=(-e "s#^  - rules/\*\.yml#  - $PROM_DIR/rules/*.yml#"
    -e "s#\[\"127.0.0.1:19090\"\]#[\"$HOST:$PROMETHEUS_PORT\"]#")
  for svc in router retrieval digest trend memory dlq; do
    port=TGI_${svc^^}_HTTP_PORT
    port=${!port:-$((8080 + i))}
    expr+=(-e "s#\[\"127.0.0.1:$((8080 + i))\"\]#[\"$HOST:$port\"]#")
    i=$((i + 1))
  done
  {
    echo "# Generated by deploy/local/infra.sh from deploy/prometheus/prometheus.yml; edit that."
    sed "${expr[@]}" "$PROM_DIR/prometheus.yml"
  } >"$d/prometheus.yml"
}

prometheus_light_ready() { port_open "$PROMETHEUS_PORT"; }
prometheus_ready() {
  port_open "$PROMETHEUS_PORT" &&
    curl -fsS -m 2 "http://$HOST:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1
}

prometheus_start() {
  rotate_log prometheus
  prometheus_write_config
  "${PROM_BIN%/prometheus}/promtool" check config "$STATE/prometheus/prometheus.yml" \
    >>"$(logfile prometheus)" 2>&1 9>&- || fail_with_log prometheus "invalid Prometheus config or rules"
  launch_detached prometheus "$PROM_BIN" \
    --config.file="$STATE/prometheus/prometheus.yml" \
    --storage.tsdb.path="$STATE/prometheus/data" \
    --storage.tsdb.retention.time="${TGI_PROMETHEUS_RETENTION:-7d}" \
    --web.listen-address="$HOST:$PROMETHEUS_PORT" \
    --web.enable-lifecycle
}

# ---------------------------------------------------------------------------- commands per component
do_fetch() { "${1}_fetch"; }

do_up() {
  local comp=$1 pid t0 secs
  lock_component "$comp"
  if pid=$(running_pid "$comp"); then
    # Already running: wait (cheaply) in case it is still starting, then report.
    wait_until "$comp" "$pid" "$(timeout_of "$comp")" "${comp}_light_ready"
    log "$comp already running (pid $pid) on $(address "$comp")"
    unlock_component
    return 0
  fi
  if port_open "$(port_of "$comp")"; then
    die "$comp: port $(port_of "$comp") on $HOST is already in use by another process"
  fi
  "${comp}_fetch"
  t0=$(now)
  "${comp}_start"
  pid=$(running_pid "$comp") || fail_with_log "$comp" "$comp exited right after start"
  wait_until "$comp" "$pid" "$(timeout_of "$comp")" "${comp}_ready" 1
  secs=$(elapsed "$t0")
  write_timing "$comp" "$secs"
  log "$comp ready on $(address "$comp") in $secs s (pid $pid)"
  unlock_component
}

do_down() {
  local comp=$1 pid
  lock_component "$comp"
  if pid=$(running_pid "$comp"); then
    if [[ $comp == postgres ]]; then postgres_stop "$pid"; else stop_pid "$comp" "$pid"; fi
  else
    rm -f "$(pidfile "$comp")"
    log "$comp not running"
  fi
  unlock_component
}

do_kill() {
  local comp=$1 pid
  lock_component "$comp"
  if pid=$(running_pid "$comp"); then
    kill_tree "$pid"
    rm -f "$(pidfile "$comp")"
    log "$comp killed (SIGKILL, pid $pid)"
  else
    log "$comp not running"
  fi
  unlock_component
}

do_status() {
  local comp=$1 pid state=stopped extra=
  if pid=$(running_pid "$comp"); then
    state=running
    port_open "$(port_of "$comp")" || extra=" (port not open yet)"
  else
    pid=-
  fi
  [[ $comp == kafka ]] && extra="$extra controller=$HOST:$KAFKA_CONTROLLER_PORT"
  printf '%-9s %-8s pid=%-8s %s%s\n' "$comp" "$state" "$pid" "$(address "$comp")" "$extra"
  [[ $state == running ]]
}

# Run <fn> for each component, one after the other or (parallel=1) concurrently in
# sub-shells (for do_up, Postgres still goes first); fail if any failed.
run_components() { # parallel fn comps...
  local parallel=$1 fn=$2
  shift 2
  if [[ $parallel != 1 || $# -lt 2 ]]; then
    local c
    for c in "$@"; do "$fn" "$c"; done
    return 0
  fi
  local -a pids=() names=()
  local c rc=0 i
  if [[ $fn == do_up && " $* " == *" postgres "* ]]; then
    "$fn" postgres # quick (about 1 s): start it first, on its own
  fi
  for c in "$@"; do
    [[ $fn == do_up && $c == postgres ]] && continue
    ("$fn" "$c") &
    pids+=($!)
    names+=("$c")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      warn "${names[$i]}: $fn failed"
      rc=1
    fi
  done
  return $rc
}

# ---------------------------------------------------------------------------- main
usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}


main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  local -a comps=("$@")
  ((${#comps[@]})) || comps=("${ALL_COMPONENTS[@]}")
  local c
  for c in "${comps[@]}"; do
    case $c in
      kafka | postgres | neo4j | prometheus) ;;
      *) die "unknown component '$c' (expected: ${ALL_COMPONENTS[*]})" ;;
    esac
  done
  case $cmd in
    fetch)
      for c in "${comps[@]}"; do do_fetch "$c"; done
      log "fetch done: ${comps[*]}"
      ;;
    up)
      # Fetch one after the other (one Maven at a time on the local repository), then start.
      for c in "${comps[@]}"; do do_fetch "$c"; done
      run_components "$PARALLEL" do_up "${comps[@]}"
      ;;
    down)
      run_components 1 do_down "${comps[@]}"
      ;;
    kill)
      [[ $# -eq 1 ]] || die "usage: infra.sh kill <component>"
      do_kill "${comps[0]}"
      ;;
    restart)
      run_components 1 do_down "${comps[@]}"
      for c in "${comps[@]}"; do do_fetch "$c"; done
      run_components "$PARALLEL" do_up "${comps[@]}"
      ;;
    status)
      # Always exit 0 (make targets call it); callers grep for "running".
      for c in "${comps[@]}"; do do_status "$c" || true; done
      ;;
    reset)
      [[ $# -eq 0 ]] || die "usage: infra.sh reset"
      run_components 1 do_down "${ALL_COMPONENTS[@]}"
      [[ -n $STATE && $STATE != / && $STATE != "$HOME" ]] || die "refusing to wipe STATE=$STATE"
      # Only our components' files: services.sh keeps its own logs/pids in the same folders.
      for c in "${ALL_COMPONENTS[@]}"; do
        rm -rf "${STATE:?}/$c" "$STATE/logs/$c.log" "$STATE/logs/$c.log.prev" "$STATE/pids/$c.pid" \
          "$STATE/timings/$c.startup_s" "$STATE/timings/$c.fetch_s" "$STATE/locks/$c.lock"
      done
      log "state wiped: ${ALL_COMPONENTS[*]} under $STATE (cache kept: $CACHE)"
      ;;
    env)
      [[ $# -eq 0 ]] || die "usage: infra.sh env"
      printf 'export TGI_KAFKA_BOOTSTRAP=%s\n' "$HOST:$KAFKA_PORT"
      printf 'export TGI_POSTGRES_DSN=%s\n' "postgresql://postgres@$HOST:$POSTGRES_PORT/$POSTGRES_DB"
      printf 'export TGI_NEO4J_URI=%s\n' "bolt://$HOST:$NEO4J_BOLT_PORT"
      printf 'export TGI_PROMETHEUS_URL=%s\n' "http://$HOST:$PROMETHEUS_PORT"
      printf 'export TGI_INTERNAL_TOKEN=%s\n' "$(internal_token)"
      ;;
    -h | --help | help) usage ;;
    *) warn "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
