#!/usr/bin/env bash
# A lean local MLflow 3.17.2 tracking server for the tests (sqlite backend, local artifacts).
#
#   scripts/mlflow-server.sh start [PORT]   install the venv if missing, start, wait for /health,
#                                           print the URI (reuses a server already running)
#   scripts/mlflow-server.sh stop           stop it and delete its temp data
#   scripts/mlflow-server.sh uri            print the URI of the running server (exit 1 if none)
#   scripts/mlflow-server.sh python         print the venv's python (installing the venv if missing)
#
# State lives in target/mlflow-test/ (pid, uri, data dir, log). Environment:
#   ADSALES_MLFLOW_VENV    venv folder (default .venv-mlflow)
#   ADSALES_MLFLOW_WAIT_S  how long start waits for /health (default 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ADSALES_MLFLOW_VENV:-$ROOT/.venv-mlflow}"
# A second, private server (e.g. one a test kills) gets its own state folder.
STATE="${ADSALES_MLFLOW_STATE:-$ROOT/target/mlflow-test}"
# The venv is shared by every server, so its install lock is too (not in a private STATE).
VENV_LOCK="$ROOT/target/mlflow-test/venv.lock"
MLFLOW_VERSION="3.17.2"
WAIT_S="${ADSALES_MLFLOW_WAIT_S:-120}"

die() { echo "mlflow-server.sh: $*" >&2; exit 1; }

ensure_venv() {
  # The dist-info folder names the installed version; importing mlflow to ask costs ~2 s.
  if [ -x "$VENV/bin/mlflow" ] && compgen -G "$VENV/lib/python*/site-packages/mlflow-$MLFLOW_VERSION.dist-info" >/dev/null; then
    return 0
  fi
  # One installer at a time (tests, a private server's `start` and `start` may all get here);
  # re-check after.
  mkdir -p "$(dirname "$VENV_LOCK")"
  exec 8>"$VENV_LOCK"
  flock 8
  if [ -x "$VENV/bin/mlflow" ] && compgen -G "$VENV/lib/python*/site-packages/mlflow-$MLFLOW_VERSION.dist-info" >/dev/null; then
    exec 8>&-
    return 0
  fi
  echo "mlflow-server.sh: installing mlflow==$MLFLOW_VERSION into $VENV (one time, ~1 min)" >&2
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python3 not found: it is needed to install MLflow"
  "$py" -m venv "$VENV" || die "cannot create venv $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2 \
    || die "pip install mlflow==$MLFLOW_VERSION failed"
  exec 8>&-
}

healthy() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 2 "$1/health" >/dev/null 2>&1
  else
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)' "$1" >/dev/null 2>&1
  fi
}

running_uri() {
  [ -f "$STATE/pid" ] && [ -f "$STATE/uri" ] || return 1
  local pid uri
  pid="$(cat "$STATE/pid")"; uri="$(cat "$STATE/uri")"
  kill -0 "$pid" 2>/dev/null || return 1
  healthy "$uri" || return 1
  echo "$uri"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  mkdir -p "$STATE"
  # One starter at a time: several test binaries may ask at once.
  exec 9>"$STATE/lock"
  flock 9
  if uri="$(running_uri)"; then echo "$uri"; return 0; fi
  [ -f "$STATE/pid" ] && stop_locked
  ensure_venv
  local port="${1:-}"
  [ -n "$port" ] || port="$(free_port)"
  local data; data="$(mktemp -d "${TMPDIR:-/tmp}/adsales-mlflow.XXXXXX")"
  local uri="http://127.0.0.1:$port"
  local t0; t0="$(date +%s.%N)"
  # setsid: the server and its workers form one process group that stop can end.
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$VENV/bin/mlflow" server \
    --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$data/mlflow.db" \
    --artifacts-destination "$data/artifacts" \
    >"$STATE/server.log" 2>&1 </dev/null 8>&- 9>&- &
  local pid=$!
  echo "$pid" >"$STATE/pid"; echo "$uri" >"$STATE/uri"; echo "$data" >"$STATE/data"
  local deadline=$(( $(date +%s) + WAIT_S ))
  until healthy "$uri"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$STATE/server.log" >&2 || true
      stop_locked
      die "the MLflow server exited during start-up (log above)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 30 "$STATE/server.log" >&2 || true
      stop_locked
      die "the MLflow server did not answer $uri/health within ${WAIT_S}s (log above)"
    fi
    sleep 0.3
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" -v u="$uri" -v p="$pid" \
    'BEGIN { printf "mlflow-server.sh: server ready at %s in %.1fs (pid %s)\n", u, b - a, p }' >&2
  echo "$uri"
}

stop_locked() {
  if [ -f "$STATE/pid" ]; then
    local pid; pid="$(cat "$STATE/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$STATE/data" ]; then
    local data; data="$(cat "$STATE/data")"
    case "$data" in */adsales-mlflow.*) rm -rf -- "$data" ;; esac
  fi
  rm -f "$STATE/pid" "$STATE/uri" "$STATE/data"
}

stop() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock 9
  stop_locked
}

case "${1:-}" in
  start) shift; start "${1:-}" ;;
  stop) stop ;;
  uri) running_uri || die "no MLflow test server is running (scripts/mlflow-server.sh start)" ;;
  python) ensure_venv; echo "$VENV/bin/python" ;;
  *) die "usage: $0 start [PORT] | stop | uri | python" ;;
esac
