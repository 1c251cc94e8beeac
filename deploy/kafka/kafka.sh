#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for
# development and the live tests.  Jars come from Maven Central via pom.xml
# next to this script; all state lives under $KAFKA_STATE_DIR.
#
#   kafka.sh fetch              download the broker classpath (once; cached)
#   kafka.sh start [--clean]    start (no-op when running); --clean wipes data
#   kafka.sh stop               graceful stop (SIGTERM, then SIGKILL after ~20 s)
#   kafka.sh status             exit 0 if running and reachable, else 1
#   kafka.sh logs [-f]          show (or follow) the broker log
#   kafka.sh bootstrap          print 127.0.0.1:PORT
#   kafka.sh client-env         print the JOURNEYS_* settings a client needs
#   kafka.sh cluster ...        a local 3-node cluster beside it (cluster.sh)
#
# Environment: KAFKA_SECURITY (plaintext; sasl_ssl: a separate broker with a
# SASL/SCRAM-SHA-512 over TLS listener, see sasl_ssl.sh), KAFKA_PORT (9092;
# sasl_ssl 9096), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_STATE_DIR
# (<repo>/var/kafka; sasl_ssl <repo>/var/kafka-sasl_ssl), KAFKA_LIB_DIR
# (KAFKA_STATE_DIR/lib; sasl_ssl <repo>/var/kafka/lib, the default broker's),
# KAFKA_HEAP (-Xms256m -Xmx768m, <= 1 GiB), KAFKA_START_TIMEOUT (60 s),
# KAFKA_STOP_TIMEOUT (20 s); with sasl_ssl also KAFKA_SASL_USER (journeys) and
# KAFKA_SASL_PASSWORD_FILE (KAFKA_STATE_DIR/client.password, made when missing).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
POM="$SCRIPT_DIR/pom.xml"

KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
case "$KAFKA_SECURITY" in
    plaintext) default_port=9092 default_state="$REPO_ROOT/var/kafka" default_lib="" ;;
    sasl_ssl) default_port=9096 default_state="$REPO_ROOT/var/kafka-sasl_ssl"
              default_lib="$REPO_ROOT/var/kafka/lib" ;;
    *) echo "kafka.sh: error: KAFKA_SECURITY must be plaintext or sasl_ssl, got '$KAFKA_SECURITY'" >&2
       exit 1 ;;
esac
KAFKA_PORT="${KAFKA_PORT:-$default_port}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$default_state}"
KAFKA_LIB_DIR="${KAFKA_LIB_DIR:-${default_lib:-$KAFKA_STATE_DIR/lib}}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-20}"
HOST=127.0.0.1

LIB_DIR="$KAFKA_LIB_DIR"
DATA_DIR="$KAFKA_STATE_DIR/data"
LOG_DIR="$KAFKA_STATE_DIR/logs"
CONF_DIR="$KAFKA_STATE_DIR/config"
PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
LOCK_FILE="$KAFKA_STATE_DIR/.lock"
SERVER_LOG="$LOG_DIR/server.out"
FETCH_LOG="$LOG_DIR/fetch.log"
SERVER_PROPS="$CONF_DIR/server.properties"
LOG4J_CONF="$CONF_DIR/log4j2.xml"
STAMP="$LIB_DIR/.fetched"
PROBE_TOPIC="__kafka_sh_probe"

say() { echo "kafka.sh: $*"; }
die() { # die <cause> [log]
    echo "kafka.sh: error: $1 (log: ${2:-$SERVER_LOG})" >&2
    exit 1
}

need_int() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be an integer, got '$2'"; }
need_int KAFKA_PORT "$KAFKA_PORT"
need_int KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
need_int KAFKA_START_TIMEOUT "$KAFKA_START_TIMEOUT"
need_int KAFKA_STOP_TIMEOUT "$KAFKA_STOP_TIMEOUT"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] ||
    die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ ($KAFKA_PORT)"

BOOTSTRAP="$HOST:$KAFKA_PORT"
PROBE_ENV=()      # what the readiness probe needs besides the address (sasl_ssl.sh)
SCRAM_ARGS=()     # SCRAM users to create when formatting (sasl_ssl.sh)
if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then
    # shellcheck source=deploy/kafka/sasl_ssl.sh
    . "$SCRIPT_DIR/sasl_ssl.sh"
fi

ensure_dirs() { mkdir -p "$KAFKA_STATE_DIR" "$LOG_DIR" "$CONF_DIR"; }

# Serialise start/stop/fetch between concurrent callers (bounded wait).
take_lock() {
    ensure_dirs
    exec 9>"$LOCK_FILE"
    if command -v flock >/dev/null 2>&1; then
        flock -w 120 9 || die "another kafka.sh holds $LOCK_FILE for over 120 s"
    fi
}

python_bin() {
    if [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then
        echo "$REPO_ROOT/.venv/bin/python"
    elif command -v python3 >/dev/null 2>&1; then
        command -v python3
    fi
}

# --- process bookkeeping ---------------------------------------------------

is_our_broker() { # pid -> 0 if it is a live kafka.Kafka on our config
    local pid="$1" cmd
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmd" == *"kafka.Kafka $SERVER_PROPS"* ]]
}

broker_pid() { # prints the pid of our running broker, or returns 1
    local pid=""
    if [[ -f "$PID_FILE" ]]; then pid="$(cat "$PID_FILE" 2>/dev/null || true)"; fi
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
    # pid file lost or stale: look for a broker started on our config
    if command -v pgrep >/dev/null 2>&1; then
        for pid in $(pgrep -f -- "kafka.Kafka $SERVER_PROPS" 2>/dev/null || true); do
            if is_our_broker "$pid"; then echo "$pid" >"$PID_FILE"; echo "$pid"; return 0; fi
        done
    fi
    return 1
}

port_open() { # port -> 0 if something accepts TCP connections on it
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# Client-level check: create (idempotently) and describe a topic.
# $1 = seconds to keep trying.  Returns 0 when a client got a leader.
# Returns 2 when no Python with kafka-python is available.
client_probe() {
    local py
    py="$(python_bin)"
    [[ -n "$py" ]] || return 2
    "$py" -c 'import kafka' 2>/dev/null || return 2
    # the security settings travel in the environment (sasl_ssl.sh), never in argv
    env "${PROBE_ENV[@]}" timeout "$(($1 + 15))" "$py" - "$BOOTSTRAP" "$PROBE_TOPIC" "$1" \
        >>"$SERVER_LOG.probe" 2>&1 <<'PY'
import os, sys, time, warnings
warnings.simplefilter("ignore")
from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

bootstrap, topic, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
security = {}
if os.environ.get("KAFKA_SH_PROBE_PROTOCOL", "PLAINTEXT") != "PLAINTEXT":
    with open(os.environ["KAFKA_SH_PROBE_PASSWORD_FILE"]) as f:
        password = f.readline().strip()
    security = dict(security_protocol=os.environ["KAFKA_SH_PROBE_PROTOCOL"],
                    ssl_cafile=os.environ["KAFKA_SH_PROBE_CAFILE"],
                    sasl_mechanism=os.environ["KAFKA_SH_PROBE_MECHANISM"],
                    sasl_plain_username=os.environ["KAFKA_SH_PROBE_USER"],
                    sasl_plain_password=password)
deadline = time.monotonic() + budget
last = None
while True:
    admin = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kafka.sh-probe",
                                 request_timeout_ms=5000, bootstrap_timeout_ms=5000, **security)
        try:
            admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}},
                                timeout_ms=5000)
        except TopicAlreadyExistsError:
            pass
        admin.wait_for_topics([topic], timeout_ms=5000)
        [desc] = admin.describe_topics([topic])
        assert desc["error_code"] == 0 and desc["partitions"][0]["leader_id"] >= 0, desc
        sys.exit(0)
    except SystemExit:
        raise
    except BaseException as exc:  # broker still coming up
        last = exc
    finally:
        if admin is not None:
            try:
                admin.close()
            except Exception:
                pass
    if time.monotonic() >= deadline:
        print(f"probe failed: {last!r}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.5)
PY
}

# --- fetch ---------------------------------------------------------------

pom_sum() { sha256sum "$POM" | cut -d' ' -f1; }

fetched() { # sum -> 0 when LIB_DIR holds the jars of this pom.xml
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$1" ]] && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
    ensure_dirs
    local sum
    sum="$(pom_sum)"
    fetched "$sum" && return 0
    # LIB_DIR may be shared by several state dirs (sasl_ssl uses the default broker's):
    # one fetch at a time, on a lock of its own (fd 8, closed before the JVM starts)
    mkdir -p "$(dirname "$LIB_DIR")"
    exec 8>"$LIB_DIR.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 900 8 || die "another kafka.sh holds $LIB_DIR.lock for over 900 s"
    fi
    if fetched "$sum"; then exec 8>&-; return 0; fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch the Kafka jars)"
    say "fetching Kafka jars from Maven Central into $LIB_DIR (once) ..."
    local tmp="$LIB_DIR.tmp.$$"
    rm -rf "$tmp"
    # pom packaging: copy-dependencies creates no target/ next to the pom
    if ! timeout 900 mvn -B -q -Dstyle.color=never -f "$POM" \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$tmp" >"$FETCH_LOG" 2>&1; then
        rm -rf "$tmp"
        die "Maven fetch of the Kafka jars failed" "$FETCH_LOG"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "Maven fetch produced no kafka_2.13 jar" "$FETCH_LOG"; }
    echo "$sum" >"$tmp/.fetched"
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    exec 8>&-
}

# --- config --------------------------------------------------------------

check_java() {
    command -v java >/dev/null 2>&1 || die "java not found on PATH (Kafka 4 needs Java 17+)"
    local v major
    v="$(java -version 2>&1 | head -n1 || true)"
    major="$(sed -E 's/.*version "([0-9]+)(\.[0-9]+)?.*/\1/' <<<"$v")"
    if [[ "$major" == 1 ]]; then major=8; fi
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] || die "Java 17+ required, found: $v"
}

check_heap() { # refuse an -Xmx above 1 GiB
    local x n unit mib=0
    x="$(grep -oE -- '-Xmx[0-9]+[kKmMgG]?' <<<"$KAFKA_HEAP" | tail -n1 || true)"
    [[ -n "$x" ]] || die "KAFKA_HEAP must contain -Xmx (got '$KAFKA_HEAP')"
    n="$(sed -E 's/-Xmx([0-9]+).*/\1/' <<<"$x")"
    unit="$(sed -E 's/-Xmx[0-9]+//' <<<"$x")"
    case "$unit" in
        g|G) mib=$((n * 1024)) ;; m|M) mib=$n ;; k|K) mib=$((n / 1024)) ;; *) mib=$((n / 1048576)) ;;
    esac
    [[ "$mib" -le 1024 ]] || die "KAFKA_HEAP $x exceeds 1 GiB"
}

listener_config() { # the client and inter-broker listener (PLAINTEXT; sasl_ssl.sh's otherwise)
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then sasl_ssl_listener_config; return; fi
    cat <<EOF
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
EOF
}

write_config() {
    # sasl_ssl: the file holds the keystore and inter-broker passwords
    rm -f "$SERVER_PROPS"; (umask 077; : >"$SERVER_PROPS")
    cat >"$SERVER_PROPS" <<EOF
# written by deploy/kafka/kafka.sh on every start; edit the script, not this file
process.roles=broker,controller
node.id=1
$(listener_config)
controller.listener.names=CONTROLLER
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=104857600
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    write_log4j "$LOG4J_CONF" "stdout is redirected to $SERVER_LOG"
}

write_log4j() { # FILE NOTE: the broker's logging (to stdout, quiet clients), as kafka.sh writes it
    cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by deploy/kafka/kafka.sh; $2 -->
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="out"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.network.RequestChannel\$" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

# --- start / stop ----------------------------------------------------------

# Cause of the last ERROR/FATAL in the broker log (the exception line under it
# when there is one), shortened, for the one-line error message.
log_cause() {
    local line
    line="$(awk '
        /^\[[^]]*\] (ERROR|FATAL) / { msg = $0; sub(/^\[[^]]*\] (ERROR|FATAL) /, "", msg)
                                      sub(/ \([A-Za-z0-9_.$]+\)$/, "", msg); want = 1; next }
        want && /^[A-Za-z0-9_.$]+(Exception|Error)(: |$)/ { msg = $0 }
        { want = 0 }
        END { print msg }' "$SERVER_LOG" 2>/dev/null | cut -c1-240 || true)"
    if [[ -n "$line" ]]; then echo ": $line"; fi
}

# SIGTERM, wait up to $2 s, then SIGKILL (bounded).  Returns 1 if it survives.
stop_pid() {
    local pid="$1" deadline=$((SECONDS + $2))
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        say "broker (pid $pid) still up after ${2}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then return 1; fi
    fi
    return 0
}

died() { rm -f "$PID_FILE"; die "broker exited during start$(log_cause)"; }

recovery_hint() { # why a broker can be slow to open its port: log recovery after an unclean stop
    if [[ -f "$SERVER_LOG" ]] && tail -n 50 "$SERVER_LOG" 2>/dev/null | grep -q "Recovering unflushed segment\|Loading producer state"; then
        printf '%s' "; it was still recovering its logs after an unclean stop: raise KAFKA_START_TIMEOUT, or start --clean to discard the data"
    fi
}

give_up() { # pid cause: a start that timed out leaves nothing running
    stop_pid "$1" 10 >/dev/null 2>&1 || true
    rm -f "$PID_FILE"
    die "$2"
}

wait_ready() { # pid [owned=1: we launched it, so kill it on timeout]
    local pid="$1" owned="${2:-0}" deadline=$((SECONDS + KAFKA_START_TIMEOUT)) rc left
    while ! port_open "$KAFKA_PORT"; do
        is_our_broker "$pid" || died
        if ((SECONDS >= deadline)); then
            [[ $owned -eq 1 ]] && give_up "$pid" "broker did not open $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s$(recovery_hint)"
            die "broker (pid $pid) did not open $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s$(recovery_hint)"
        fi
        sleep 0.3
    done
    left=$((deadline - SECONDS)); ((left > 1)) || left=1
    rc=0; client_probe "$left" || rc=$?
    if [[ $rc -eq 2 ]]; then
        # no kafka-python: fall back to the broker's own "started" line
        while ! grep -q "Kafka Server started" "$SERVER_LOG" 2>/dev/null; do
            is_our_broker "$pid" || died
            if ((SECONDS >= deadline)); then
                [[ $owned -eq 1 ]] && give_up "$pid" "broker not started within ${KAFKA_START_TIMEOUT}s"
                die "broker (pid $pid) not started within ${KAFKA_START_TIMEOUT}s"
            fi
            sleep 0.3
        done
    elif [[ $rc -ne 0 ]]; then
        is_our_broker "$pid" || died
        local msg="no client could create/describe a topic on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s (probe output: $SERVER_LOG.probe)"
        [[ $owned -eq 1 ]] && give_up "$pid" "$msg"
        die "$msg"
    fi
    return 0
}

cmd_start() {
    local clean=0 arg pid
    for arg in "$@"; do
        case "$arg" in
            --clean) clean=1 ;;
            *) die "unknown option for start: $arg" ;;
        esac
    done
    take_lock

    if pid="$(broker_pid)"; then
        if [[ $clean -eq 1 ]]; then
            die "--clean given but the broker is running (pid $pid); run 'kafka.sh stop' first"
        fi
        wait_ready "$pid"
        say "already running (pid $pid) at $BOOTSTRAP$(security_summary) (log: $SERVER_LOG)"
        return 0
    fi
    rm -f "$PID_FILE"

    check_java
    check_heap
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$p"; then
            die "port $p on $HOST is already in use by another process"
        fi
    done
    cmd_fetch

    if [[ $clean -eq 1 ]]; then
        say "--clean: wiping $DATA_DIR"
        rm -rf "$DATA_DIR"
    fi
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then sasl_ssl_prepare "$clean"; fi
    mkdir -p "$DATA_DIR"
    write_config

    # keep one previous log; start each run with a fresh server.out
    if [[ -f "$SERVER_LOG" ]]; then mv -f "$SERVER_LOG" "$SERVER_LOG.prev"; fi
    rm -f "$SERVER_LOG.probe"
    : >"$SERVER_LOG"

    local cp="$LIB_DIR/*"
    local jvm=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
               -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
               -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR")
    # shellcheck disable=SC2206
    local heap=($KAFKA_HEAP)

    if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
        local cluster_id
        cluster_id="$(timeout 60 java -Xmx128m "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$SERVER_LOG" | tail -n1)" ||
            die "StorageTool random-uuid failed"
        [[ -n "$cluster_id" ]] || die "StorageTool random-uuid printed nothing"
        timeout 120 java -Xmx256m "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$SERVER_PROPS" "${SCRAM_ARGS[@]}" >>"$SERVER_LOG" 2>&1 ||
            die "formatting storage in $DATA_DIR failed"
    fi

    # Detached: own session, no inherited lock fd / stdio, output to server.out.
    nohup setsid java "${heap[@]}" "${jvm[@]}" -cp "$cp" kafka.Kafka "$SERVER_PROPS" \
        >>"$SERVER_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    # setsid execs in place (we are not a group leader); if it forked, find the JVM.
    sleep 0.5
    if ! is_our_broker "$pid"; then
        pid="$(broker_pid)" || died
    fi

    wait_ready "$pid" 1
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then sasl_ssl_client_env >"$CLIENT_ENV"; fi
    say "started (pid $pid) at $BOOTSTRAP$(security_summary) (log: $SERVER_LOG)"
}

security_summary() { # " (SASL_SSL, ...)" for sasl_ssl, nothing for plaintext
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then printf ' (%s)' "$(sasl_ssl_summary)"; fi
}

cmd_client_env() {
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then
        sasl_ssl_client_env
    else
        printf '%s\n' "JOURNEYS_BOOTSTRAP_SERVERS=$BOOTSTRAP" "JOURNEYS_SECURITY_PROTOCOL=PLAINTEXT"
    fi
}

cmd_stop() {
    take_lock
    local pid
    if ! pid="$(broker_pid)"; then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    stop_pid "$pid" "$KAFKA_STOP_TIMEOUT" || die "broker (pid $pid) survived SIGKILL"
    rm -f "$PID_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid rc=0
    if ! pid="$(broker_pid)"; then
        say "not running"
        return 1
    fi
    if ! port_open "$KAFKA_PORT"; then
        say "running (pid $pid) but $BOOTSTRAP is not accepting connections"
        return 1
    fi
    client_probe 5 || rc=$?
    if [[ $rc -eq 0 || $rc -eq 2 ]]; then
        say "running (pid $pid) at $BOOTSTRAP"
        return 0
    fi
    say "running (pid $pid) but not answering clients at $BOOTSTRAP"
    return 1
}

cmd_logs() {
    [[ -f "$SERVER_LOG" ]] || die "no broker log yet"
    case "${1:-}" in
        -f) exec tail -n 100 -F "$SERVER_LOG" ;;
        "") exec tail -n 200 "$SERVER_LOG" ;;
        *) die "unknown option for logs: $1" ;;
    esac
}

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

main() {
    local cmd="${1:-}"
    if [[ $# -gt 0 ]]; then shift; fi
    case "$cmd" in
        fetch) take_lock; check_java; cmd_fetch; say "jars in $LIB_DIR" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        bootstrap) echo "$BOOTSTRAP" ;;
        client-env) cmd_client_env ;;
        cluster) # shellcheck source=deploy/kafka/cluster.sh
                 . "$SCRIPT_DIR/cluster.sh"; cmd_cluster "$@" ;;
        -h|--help|help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
