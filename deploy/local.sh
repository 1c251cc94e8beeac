#!/usr/bin/env bash
# The local stack on one machine, everything on loopback: the project's Kafka broker
# (deploy/kafka/kafka.sh), one journeys worker, one collector (Segment's HTTP tracking
# API for the SDKs), and Prometheus scraping both with the project's alert rules.
#
#   local.sh start     start what is not running yet (idempotent); fails, leaving
#                      nothing it started running, when a part is not up in time
#   local.sh stop      stop the collector, the worker and Prometheus; the broker only
#                      if this script started it
#   local.sh status    one line per part; exit 0 when all are up
#   local.sh logs [worker|collector|prometheus]   last lines of a log
#
# Environment: KAFKA_PORT (9092) and the other kafka.sh variables for the broker;
# JOURNEYS_* for the worker and the collector (JOURNEYS_WEB_PORT 6066,
# JOURNEYS_COLLECTOR_PORT 8088, JOURNEYS_COLLECTOR_WRITE_KEYS (a local example key when
# unset); JOURNEYS_BOOTSTRAP_SERVERS set: use that cluster, start no broker);
# LOCAL_COLLECTOR (1; 0: no collector); PROMETHEUS_PORT (9090); LOCAL_STATE_DIR
# (<repo>/var/local: pid files, logs, worker state, Prometheus data);
# LOCAL_START_TIMEOUT (90 s per part).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
KAFKA_SH="$SCRIPT_DIR/kafka/kafka.sh"
PROM_INSTALL="$SCRIPT_DIR/prometheus/install.sh"
PROM_SOURCE="$SCRIPT_DIR/prometheus/prometheus.yml"

STATE_DIR="${LOCAL_STATE_DIR:-$REPO_ROOT/var/local}"
LOG_DIR="$STATE_DIR/logs"
START_TIMEOUT="${LOCAL_START_TIMEOUT:-90}"
PROM_PORT="${PROMETHEUS_PORT:-9090}"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
HOST=127.0.0.1

# Worker settings: whatever JOURNEYS_* the caller set, plus local defaults.
EXTERNAL_BROKER=0
if [[ -n "${JOURNEYS_BOOTSTRAP_SERVERS:-}" ]]; then EXTERNAL_BROKER=1; fi
export JOURNEYS_BOOTSTRAP_SERVERS="${JOURNEYS_BOOTSTRAP_SERVERS:-$HOST:$KAFKA_PORT}"
export JOURNEYS_WEB_HOST="${JOURNEYS_WEB_HOST:-$HOST}"
export JOURNEYS_WEB_PORT="${JOURNEYS_WEB_PORT:-6066}"
export JOURNEYS_DATA_DIR="${JOURNEYS_DATA_DIR:-$STATE_DIR/worker}"
SHUTDOWN_TIMEOUT="${JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS:-10}"
# Prometheus scrapes the metrics port when one is set, else the web port.
SCRAPE_PORT="${JOURNEYS_METRICS_PORT:-$JOURNEYS_WEB_PORT}"
# The collector: same Kafka settings, its own port; a local example key when none is set.
WITH_COLLECTOR="${LOCAL_COLLECTOR:-1}"
export JOURNEYS_COLLECTOR_HOST="${JOURNEYS_COLLECTOR_HOST:-$HOST}"
export JOURNEYS_COLLECTOR_PORT="${JOURNEYS_COLLECTOR_PORT:-8088}"
EXAMPLE_KEY=""
if [[ -z "${JOURNEYS_COLLECTOR_WRITE_KEYS:-}" ]]; then EXAMPLE_KEY="local-example-write-key"; fi
export JOURNEYS_COLLECTOR_WRITE_KEYS="${JOURNEYS_COLLECTOR_WRITE_KEYS:-$EXAMPLE_KEY}"

WORKER_PID="$STATE_DIR/worker.pid"
WORKER_LOG="$LOG_DIR/worker.log"
COLLECTOR_PID="$STATE_DIR/collector.pid"
COLLECTOR_LOG="$LOG_DIR/collector.log"
PROM_DIR="$STATE_DIR/prometheus"
PROM_CONF="$PROM_DIR/prometheus.yml"
PROM_PID="$STATE_DIR/prometheus.pid"
PROM_LOG="$LOG_DIR/prometheus.log"
KAFKA_OURS="$STATE_DIR/kafka.started"  # present when this script started the broker

say() { echo "local.sh: $*"; }
die() { echo "local.sh: error: $*" >&2; exit 1; }

need_int() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be an integer, got '$2'"; }
need_int KAFKA_PORT "$KAFKA_PORT"
need_int PROMETHEUS_PORT "$PROM_PORT"
need_int JOURNEYS_WEB_PORT "$JOURNEYS_WEB_PORT"
need_int JOURNEYS_COLLECTOR_PORT "$JOURNEYS_COLLECTOR_PORT"
need_int LOCAL_START_TIMEOUT "$START_TIMEOUT"

python_bin() {
    if [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then echo "$REPO_ROOT/.venv/bin/python"
    else command -v python3 || die "no Python found (run ./run setup)"; fi
}

journeys_bin() {
    if [[ -x "$REPO_ROOT/.venv/bin/journeys" ]]; then echo "$REPO_ROOT/.venv/bin/journeys"
    else command -v journeys || die "the journeys command is not installed (run ./run setup)"; fi
}

take_lock() { # serialise start/stop between concurrent callers (bounded wait)
    mkdir -p "$STATE_DIR" "$LOG_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock -w 120 9 || die "another local.sh holds $STATE_DIR/.lock for over 120 s"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

http_ok() { # url -> 0 when it answers 2xx within 3 s
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null -m 3 "$1" 2>/dev/null
    else
        "$(python_bin)" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' \
            "$1" 2>/dev/null
    fi
}

# pid file, cmdline fragment -> prints the pid when that process is alive and ours
live_pid() {
    local pid cmd
    [[ -f "$1" ]] || return 1
    pid="$(cat "$1" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmd" == *"$2"* ]] || return 1
    echo "$pid"
}

worker_pid() { live_pid "$WORKER_PID" "journeys worker"; }
collector_pid() { live_pid "$COLLECTOR_PID" "journeys collect"; }
prom_pid() { live_pid "$PROM_PID" "--config.file=$PROM_CONF"; }

stop_pid() { # pid seconds name: SIGTERM, bounded wait, then SIGKILL
    local pid="$1" name="$3" deadline=$((SECONDS + $2))
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) still up after $2 s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    fi
    ! kill -0 "$pid" 2>/dev/null
}

tail_log() { if [[ -f "$1" ]]; then echo "--- last lines of $1:" >&2; tail -n 20 "$1" >&2; fi; }

# --- parts -------------------------------------------------------------------------

start_broker() {
    if [[ $EXTERNAL_BROKER -eq 1 ]]; then
        say "broker: using JOURNEYS_BOOTSTRAP_SERVERS=$JOURNEYS_BOOTSTRAP_SERVERS"
        return 0
    fi
    if "$KAFKA_SH" status >/dev/null 2>&1; then
        if [[ -f "$KAFKA_OURS" ]]; then
            say "broker: already running at $HOST:$KAFKA_PORT"
        else
            say "broker: already running at $HOST:$KAFKA_PORT (not started by local.sh, left running by stop)"
        fi
        return 0
    fi
    "$KAFKA_SH" start || die "the broker did not start (see '$KAFKA_SH logs')"
    # remember how to reach the same broker again in `stop`
    printf 'KAFKA_PORT=%q\nKAFKA_STATE_DIR=%q\n' "$KAFKA_PORT" "${KAFKA_STATE_DIR:-}" >"$KAFKA_OURS"
    STARTED+=(broker)
}

start_worker() {
    local pid deadline
    if pid="$(worker_pid)"; then
        say "worker: already running (pid $pid) on http://$HOST:$JOURNEYS_WEB_PORT"
        return 0
    fi
    rm -f "$WORKER_PID"
    ! port_open "$JOURNEYS_WEB_PORT" || die "port $JOURNEYS_WEB_PORT is in use (set JOURNEYS_WEB_PORT)"
    local bin
    bin="$(journeys_bin)"
    mkdir -p "$JOURNEYS_DATA_DIR"
    if [[ -f "$WORKER_LOG" ]]; then mv -f "$WORKER_LOG" "$WORKER_LOG.prev"; fi
    # Own session, no inherited lock fd or stdio: the worker outlives this script.
    # PYTHONPATH: run this checkout's code even when the installed entry point is stale.
    PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" \
        nohup setsid "$bin" worker >>"$WORKER_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$WORKER_PID"
    STARTED+=(worker)
    deadline=$((SECONDS + START_TIMEOUT))
    until http_ok "http://$HOST:$JOURNEYS_WEB_PORT/readyz"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail_log "$WORKER_LOG"
            fail "worker exited during start (log: $WORKER_LOG)"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$WORKER_LOG"
            fail "worker not ready (/readyz) within ${START_TIMEOUT}s (log: $WORKER_LOG)"
        fi
        sleep 1
    done
    say "worker: ready (pid $pid) on http://$HOST:$JOURNEYS_WEB_PORT (log: $WORKER_LOG)"
}

start_collector() {
    local pid deadline bin
    if [[ "$WITH_COLLECTOR" == 0 ]]; then
        say "collector: off (LOCAL_COLLECTOR=0)"
        return 0
    fi
    if pid="$(collector_pid)"; then
        say "collector: already running (pid $pid) on http://$HOST:$JOURNEYS_COLLECTOR_PORT"
        return 0
    fi
    rm -f "$COLLECTOR_PID"
    ! port_open "$JOURNEYS_COLLECTOR_PORT" ||
        fail "port $JOURNEYS_COLLECTOR_PORT is in use (set JOURNEYS_COLLECTOR_PORT)"
    bin="$(journeys_bin)"
    if [[ -f "$COLLECTOR_LOG" ]]; then mv -f "$COLLECTOR_LOG" "$COLLECTOR_LOG.prev"; fi
    PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" \
        nohup setsid "$bin" collect >>"$COLLECTOR_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$COLLECTOR_PID"
    STARTED+=(collector)
    deadline=$((SECONDS + START_TIMEOUT))
    until http_ok "http://$HOST:$JOURNEYS_COLLECTOR_PORT/readyz"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail_log "$COLLECTOR_LOG"
            fail "collector exited during start (log: $COLLECTOR_LOG)"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$COLLECTOR_LOG"
            fail "collector not ready (/readyz) within ${START_TIMEOUT}s (log: $COLLECTOR_LOG)"
        fi
        sleep 0.5
    done
    say "collector: ready (pid $pid) on http://$HOST:$JOURNEYS_COLLECTOR_PORT/v1/batch" \
        "${EXAMPLE_KEY:+(write key: $EXAMPLE_KEY)} (log: $COLLECTOR_LOG)"
}

write_prometheus_config() { # the project's prometheus.yml, pointed at this worker (and collector)
    local collector=""
    if [[ "$WITH_COLLECTOR" != 0 ]]; then collector="$HOST:$JOURNEYS_COLLECTOR_PORT"; fi
    mkdir -p "$PROM_DIR/data"
    "$(python_bin)" - "$PROM_SOURCE" "$PROM_CONF" "$HOST:$SCRAPE_PORT" "$collector" <<'PY'
import sys
from pathlib import Path

import yaml

source, target, address, collector = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
config = yaml.safe_load(source.read_text())
config["rule_files"] = [str((source.parent / f).resolve()) for f in config.get("rule_files", [])]
for job in config["scrape_configs"]:
    if job["job_name"] == "journeys":
        job["static_configs"] = [{"targets": [address]}]
if collector:  # a job of its own: the worker alerts select job="journeys"
    config["scrape_configs"].append(
        {"job_name": "journeys-collector", "static_configs": [{"targets": [collector]}]}
    )
header = f"# written by deploy/local.sh from {source}; edit that file, not this one\n"
target.write_text(header + yaml.safe_dump(config, sort_keys=False))
PY
}

start_prometheus() {
    local pid deadline
    if pid="$(prom_pid)"; then
        say "prometheus: already running (pid $pid) on http://$HOST:$PROM_PORT"
        return 0
    fi
    rm -f "$PROM_PID"
    if ! command -v prometheus >/dev/null 2>&1; then
        "$PROM_INSTALL" || fail "Prometheus is not installed and $PROM_INSTALL failed"
    fi
    ! port_open "$PROM_PORT" || fail "port $PROM_PORT is in use (set PROMETHEUS_PORT)"
    write_prometheus_config
    if command -v promtool >/dev/null 2>&1; then
        promtool check config "$PROM_CONF" >"$LOG_DIR/promtool.log" 2>&1 ||
            fail "promtool rejects $PROM_CONF (log: $LOG_DIR/promtool.log)"
    fi
    if [[ -f "$PROM_LOG" ]]; then mv -f "$PROM_LOG" "$PROM_LOG.prev"; fi
    nohup setsid prometheus --config.file="$PROM_CONF" \
        --storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=2d \
        --web.listen-address="$HOST:$PROM_PORT" \
        >>"$PROM_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PROM_PID"
    STARTED+=(prometheus)
    deadline=$((SECONDS + START_TIMEOUT))
    until http_ok "http://$HOST:$PROM_PORT/-/ready"; do
        kill -0 "$pid" 2>/dev/null || { tail_log "$PROM_LOG"; fail "prometheus exited during start"; }
        ((SECONDS < deadline)) || { tail_log "$PROM_LOG"; fail "prometheus not ready within ${START_TIMEOUT}s"; }
        sleep 0.5
    done
    say "prometheus: ready (pid $pid) on http://$HOST:$PROM_PORT, scraping $HOST:$SCRAPE_PORT (log: $PROM_LOG)"
}

stop_worker() {
    local pid
    if pid="$(worker_pid)"; then
        # the worker exits by itself after JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS; allow a margin
        stop_pid "$pid" "$(( ${SHUTDOWN_TIMEOUT%.*} + 10 ))" worker || die "worker (pid $pid) survived SIGKILL"
        say "worker: stopped (pid $pid)"
    else
        say "worker: not running"
    fi
    rm -f "$WORKER_PID"
}

stop_collector() {
    local pid
    if pid="$(collector_pid)"; then
        # it finishes the requests in flight within JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS
        stop_pid "$pid" "$(( ${SHUTDOWN_TIMEOUT%.*} + 10 ))" collector ||
            die "collector (pid $pid) survived SIGKILL"
        say "collector: stopped (pid $pid)"
    else
        say "collector: not running"
    fi
    rm -f "$COLLECTOR_PID"
}

stop_prometheus() {
    local pid
    if pid="$(prom_pid)"; then
        stop_pid "$pid" 15 prometheus || die "prometheus (pid $pid) survived SIGKILL"
        say "prometheus: stopped (pid $pid)"
    else
        say "prometheus: not running"
    fi
    rm -f "$PROM_PID"
}

stop_broker() {
    if [[ ! -f "$KAFKA_OURS" ]]; then
        say "broker: left alone (not started by local.sh)"
        return 0
    fi
    (
        # shellcheck disable=SC1090
        . "$KAFKA_OURS"
        export KAFKA_PORT
        if [[ -n "$KAFKA_STATE_DIR" ]]; then export KAFKA_STATE_DIR; else unset KAFKA_STATE_DIR; fi
        "$KAFKA_SH" stop
    ) || die "could not stop the broker"
    rm -f "$KAFKA_OURS"
}

# A failed start stops what this invocation started, so nothing is left half up.
STARTED=()
fail() {
    echo "local.sh: error: $*" >&2
    local part
    for part in "${STARTED[@]}"; do
        case "$part" in
            prometheus) stop_prometheus >/dev/null 2>&1 || true ;;
            collector) stop_collector >/dev/null 2>&1 || true ;;
            worker) stop_worker >/dev/null 2>&1 || true ;;
        esac
    done
    if [[ " ${STARTED[*]} " == *" broker "* ]]; then stop_broker >/dev/null 2>&1 || true; fi
    exit 1
}

# --- commands ----------------------------------------------------------------------

cmd_start() {
    take_lock
    start_broker
    start_worker
    start_collector
    start_prometheus
    local collector=""
    if [[ "$WITH_COLLECTOR" != 0 ]]; then
        collector=", collector http://$HOST:$JOURNEYS_COLLECTOR_PORT/v1/batch"
    fi
    say "up: worker http://$HOST:$JOURNEYS_WEB_PORT/readyz, metrics http://$HOST:$SCRAPE_PORT/metrics," \
        "Prometheus http://$HOST:$PROM_PORT/alerts$collector"
}

cmd_stop() {
    take_lock
    stop_collector
    stop_worker
    stop_prometheus
    stop_broker
}

cmd_status() {
    local rc=0 pid
    if [[ $EXTERNAL_BROKER -eq 1 ]]; then
        say "broker: external, $JOURNEYS_BOOTSTRAP_SERVERS"
    elif "$KAFKA_SH" status >/dev/null 2>&1; then
        say "broker: running at $HOST:$KAFKA_PORT"
    else
        say "broker: not running at $HOST:$KAFKA_PORT"; rc=1
    fi
    if pid="$(worker_pid)"; then
        if http_ok "http://$HOST:$JOURNEYS_WEB_PORT/readyz"; then
            say "worker: ready (pid $pid) on http://$HOST:$JOURNEYS_WEB_PORT"
        elif http_ok "http://$HOST:$JOURNEYS_WEB_PORT/healthz"; then
            say "worker: alive but not ready (pid $pid), see /readyz"; rc=1
        else
            say "worker: running (pid $pid) but not answering on port $JOURNEYS_WEB_PORT"; rc=1
        fi
    else
        say "worker: not running"; rc=1
    fi
    if [[ "$WITH_COLLECTOR" == 0 ]]; then
        say "collector: off (LOCAL_COLLECTOR=0)"
    elif pid="$(collector_pid)"; then
        if http_ok "http://$HOST:$JOURNEYS_COLLECTOR_PORT/readyz"; then
            say "collector: ready (pid $pid) on http://$HOST:$JOURNEYS_COLLECTOR_PORT"
        else
            say "collector: running (pid $pid) but not ready, see /readyz"; rc=1
        fi
    else
        say "collector: not running"; rc=1
    fi
    if pid="$(prom_pid)"; then
        if http_ok "http://$HOST:$PROM_PORT/-/ready"; then
            say "prometheus: ready (pid $pid) on http://$HOST:$PROM_PORT"
        else
            say "prometheus: running (pid $pid) but not ready"; rc=1
        fi
    else
        say "prometheus: not running"; rc=1
    fi
    return "$rc"
}

cmd_logs() {
    local log
    case "${1:-worker}" in
        worker) log="$WORKER_LOG" ;;
        collector) log="$COLLECTOR_LOG" ;;
        prometheus) log="$PROM_LOG" ;;
        *) die "unknown log '${1}': worker, collector or prometheus" ;;
    esac
    [[ -f "$log" ]] || die "no log yet: $log"
    tail -n 100 "$log"
}

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
