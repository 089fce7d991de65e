#!/usr/bin/env bash
# Run the six services as background processes on this machine.
#   deploy/local/services.sh up|down|status|restart|kill [service...]
# Logs: $STATE/logs/<service>.log   pids: $STATE/pids/<service>.pid
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${TGI_STATE_DIR:-$ROOT/.state}"
PY="${TGI_PYTHON:-$ROOT/.venv/bin/python}"
ALL=(memory dlq retrieval trend digest router)
declare -A PORT=([router]=8080 [retrieval]=8081 [digest]=8082 [trend]=8083 [memory]=8084 [dlq]=8085)
for s in "${ALL[@]}"; do v="TGI_${s^^}_HTTP_PORT"; [[ -n ${!v:-} ]] && PORT[$s]=${!v}; done
READY_TIMEOUT="${TGI_READY_TIMEOUT:-90}"

mkdir -p "$STATE/logs" "$STATE/pids"
cd "$ROOT"
eval "$("$ROOT/deploy/local/infra.sh" env)"
export TGI_KAFKA_BOOTSTRAP TGI_POSTGRES_DSN TGI_NEO4J_URI TGI_INTERNAL_TOKEN
export TGI_LOG_JSON="${TGI_LOG_JSON:-true}"

pid_of() { local f="$STATE/pids/$1.pid"; [[ -f $f ]] && cat "$f" || true; }
alive() { local p; p="$(pid_of "$1")"; [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }

ready() { curl -fsS -m 2 "http://127.0.0.1:${PORT[$1]}/ready" >/dev/null 2>&1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local svc=$1 pidfile="$STATE/pids/$1.pid"
  if alive "$svc"; then echo "$svc already running (pid $(pid_of "$svc"))"; return; fi
  if port_busy "${PORT[$svc]}"; then
    echo "cannot start $svc: port ${PORT[$svc]} is taken by another process (set TGI_${svc^^}_HTTP_PORT)" >&2
    return 1
  fi
  rm -f "$pidfile"
  # The launched shell writes its own pid and execs Python, so the pid file names the service
  # process itself; every descriptor is redirected so no caller's pipe is held open.
  # A single backgrounded command (not a list), so no wrapper shell lingers holding our stdout.
  setsid bash -c 'echo $$ >"$1"; exec "$2" -m "services.$3"' _ "$pidfile" "$PY" "$svc" \
      >>"$STATE/logs/$svc.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [[ -s $pidfile ]] && return; sleep 0.1; done
  echo "$svc: no pid file after 5 s" >&2; return 1
}

wait_ready() {
  local svc=$1 t0=$SECONDS
  until ready "$svc" && alive "$svc"; do
    if ! alive "$svc"; then
      echo "$svc exited during start-up; last log lines:" >&2; tail -n 40 "$STATE/logs/$svc.log" >&2; return 1
    fi
    if (( SECONDS - t0 > READY_TIMEOUT )); then
      echo "$svc not ready after ${READY_TIMEOUT}s; last log lines:" >&2; tail -n 40 "$STATE/logs/$svc.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "$svc ready on http://127.0.0.1:${PORT[$svc]} ($(( SECONDS - t0 ))s)"
}

stop() {
  local svc=$1 sig=${2:-TERM} p
  p="$(pid_of "$svc")"
  if [[ -z $p ]] || ! kill -0 "$p" 2>/dev/null; then rm -f "$STATE/pids/$svc.pid"; return; fi
  kill "-$sig" "$p" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  rm -f "$STATE/pids/$svc.pid"
  echo "$svc stopped"
}

cmd=${1:-status}; shift || true
svcs=("$@"); [[ ${#svcs[@]} -eq 0 ]] && svcs=("${ALL[@]}")
case $cmd in
  up)      for s in "${svcs[@]}"; do start "$s"; done
           for s in "${svcs[@]}"; do wait_ready "$s"; done ;;
  down)    for s in "${svcs[@]}"; do stop "$s"; done ;;
  kill)    for s in "${svcs[@]}"; do stop "$s" KILL; done ;;
  restart) for s in "${svcs[@]}"; do stop "$s"; start "$s"; done
           for s in "${svcs[@]}"; do wait_ready "$s"; done ;;
  status)  for s in "${svcs[@]}"; do
             if alive "$s"; then st=running; ready "$s" && st="$st, ready"; else st=stopped; fi
             printf '%-10s %-18s http://127.0.0.1:%s  log %s\n' "$s" "$st" "${PORT[$s]}" "$STATE/logs/$s.log"
           done ;;
  *) echo "usage: $0 up|down|status|restart|kill [service...]" >&2; exit 2 ;;
esac
