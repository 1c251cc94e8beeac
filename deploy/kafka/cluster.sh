# shellcheck shell=bash
# Sourced by kafka.sh for `kafka.sh cluster ...`: a local 3-node KRaft cluster for
# fault drills (a node killed, stopped, restarted), beside the single broker and
# sharing nothing with it but the jars.  Each node is a combined broker+controller
# JVM on 127.0.0.1 with its own ports, config and data dir under $KAFKA_CLUSTER_DIR
# (node-1, node-2, node-3); the controller quorum is static (controller.quorum.voters)
# and every node is formatted with the same cluster id, so a start needs no
# bootstrapping round.  Replication 3 and min ISR 2 everywhere (internal topics and
# the defaults of new topics), unclean leader election off: what a production cluster
# runs (deploy/README.md, "Broker failures").
#
#   kafka.sh cluster start [--clean]    start the nodes not running, wait until all three
#                                       serve a fully replicated topic; --clean wipes data
#   kafka.sh cluster stop [N]           graceful stop of every node (or node N)
#   kafka.sh cluster kill N             SIGKILL node N (a crash: no controlled shutdown)
#   kafka.sh cluster restart N          stop node N if it runs, start it, wait until it is
#                                       unfenced and back in the ISR of its partitions
#   kafka.sh cluster status             each node's process; brokers, controller, partitions
#                                       under-replicated and offline (exit 0: all 3 serve)
#   kafka.sh cluster leader-of TOPIC PARTITION   the node leading that partition
#   kafka.sh cluster controller         the active controller (KRaft quorum leader)
#   kafka.sh cluster coordinator-of TRANSACTIONAL_ID   its transaction coordinator
#   kafka.sh cluster bootstrap          127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   kafka.sh cluster logs N [-f]        node N's log
#
# Environment: KAFKA_CLUSTER_DIR (<repo>/var/kafka-cluster), KAFKA_CLUSTER_PORT (19092:
# node N listens on +N-1), KAFKA_CLUSTER_CONTROLLER_PORT (19192, likewise),
# KAFKA_CLUSTER_HEAP (-Xms64m -Xmx256m per node, <= 1 GiB), KAFKA_START_TIMEOUT and
# KAFKA_STOP_TIMEOUT as for the single broker; the jars are the single broker's
# (KAFKA_LIB_DIR).

KAFKA_CLUSTER_DIR="${KAFKA_CLUSTER_DIR:-$REPO_ROOT/var/kafka-cluster}"
KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-19092}"
KAFKA_CLUSTER_CONTROLLER_PORT="${KAFKA_CLUSTER_CONTROLLER_PORT:-19192}"
KAFKA_CLUSTER_HEAP="${KAFKA_CLUSTER_HEAP:--Xms64m -Xmx256m}"
need_int KAFKA_CLUSTER_PORT "$KAFKA_CLUSTER_PORT"
need_int KAFKA_CLUSTER_CONTROLLER_PORT "$KAFKA_CLUSTER_CONTROLLER_PORT"
CLUSTER_NODES=(1 2 3)
CLUSTER_ID_FILE="$KAFKA_CLUSTER_DIR/cluster.id"
CLUSTER_LOCK="$KAFKA_CLUSTER_DIR/.lock"
CLUSTER_ADMIN="$SCRIPT_DIR/cluster_admin.py"

((KAFKA_CLUSTER_PORT + 3 <= KAFKA_CLUSTER_CONTROLLER_PORT ||
  KAFKA_CLUSTER_CONTROLLER_PORT + 3 <= KAFKA_CLUSTER_PORT)) ||
    die "KAFKA_CLUSTER_PORT and KAFKA_CLUSTER_CONTROLLER_PORT ranges (3 ports each) overlap"

node_dir() { echo "$KAFKA_CLUSTER_DIR/node-$1"; }
node_port() { echo $((KAFKA_CLUSTER_PORT + $1 - 1)); }
node_controller_port() { echo $((KAFKA_CLUSTER_CONTROLLER_PORT + $1 - 1)); }
node_props() { echo "$(node_dir "$1")/server.properties"; }
node_log() { echo "$(node_dir "$1")/server.out"; }
node_pid_file() { echo "$(node_dir "$1")/kafka.pid"; }

cluster_bootstrap() {
    local n out=()
    for n in "${CLUSTER_NODES[@]}"; do out+=("$HOST:$(node_port "$n")"); done
    (IFS=,; echo "${out[*]}")
}

need_node() { # N -> dies unless N names a node
    [[ "${1:-}" =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3, got '${1:-}'" "$KAFKA_CLUSTER_DIR"
}

cluster_lock() {
    mkdir -p "$KAFKA_CLUSTER_DIR"
    exec 9>"$CLUSTER_LOCK"
    if command -v flock >/dev/null 2>&1; then
        flock -w 120 9 || die "another kafka.sh holds $CLUSTER_LOCK for over 120 s" "$CLUSTER_LOCK"
    fi
}

is_node_pid() { # pid N -> 0 if it is a live kafka.Kafka on node N's config
    local cmd
    [[ "$1" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true)"
    [[ "$cmd" == *"kafka.Kafka $(node_props "$2")"* ]]
}

node_pid() { # N -> prints the pid of node N, or returns 1
    local pid="" file
    file="$(node_pid_file "$1")"
    if [[ -f "$file" ]]; then pid="$(cat "$file" 2>/dev/null || true)"; fi
    if is_node_pid "$pid" "$1"; then echo "$pid"; return 0; fi
    if command -v pgrep >/dev/null 2>&1; then
        for pid in $(pgrep -f -- "kafka.Kafka $(node_props "$1")" 2>/dev/null || true); do
            if is_node_pid "$pid" "$1"; then echo "$pid" >"$file"; echo "$pid"; return 0; fi
        done
    fi
    return 1
}

cluster_python() { # the Python with kafka-python that answers for the cluster, or nothing
    local py
    py="$(python_bin)"
    if [[ -n "$py" ]] && "$py" -c 'import kafka' 2>/dev/null; then echo "$py"; fi
}

cluster_admin() { # COMMAND ARGS... (the bootstrap is put in): cluster_admin.py's answer
    local py cmd="$1"
    shift
    py="$(cluster_python)"
    [[ -n "$py" ]] || die "no Python with kafka-python (run ./run setup)" "$KAFKA_CLUSTER_DIR"
    "$py" "$CLUSTER_ADMIN" "$cmd" "$(cluster_bootstrap)" "$@"
}

check_cluster_heap() {
    local saved="$KAFKA_HEAP"
    KAFKA_HEAP="$KAFKA_CLUSTER_HEAP"
    check_heap
    KAFKA_HEAP="$saved"
}

write_node_config() { # N
    local n="$1" voters=() v dir
    for v in "${CLUSTER_NODES[@]}"; do voters+=("$v@$HOST:$(node_controller_port "$v")"); done
    dir="$(node_dir "$n")"
    mkdir -p "$dir/data"
    cat >"$(node_props "$n")" <<EOF
# written by deploy/kafka/kafka.sh cluster on every start; edit the script, not this file
process.roles=broker,controller
node.id=$n
listeners=PLAINTEXT://$HOST:$(node_port "$n"),CONTROLLER://$HOST:$(node_controller_port "$n")
advertised.listeners=PLAINTEXT://$HOST:$(node_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
log.dirs=$dir/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
log.retention.hours=168
log.segment.bytes=104857600
log.cleaner.dedupe.buffer.size=8388608
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
num.recovery.threads.per.data.dir=1
EOF
    write_node_log4j "$n"
}

write_node_log4j() { # N: the single broker's logging (kafka.sh's write_log4j), to node N's server.out
    write_log4j "$(node_dir "$1")/log4j2.xml" "node $1 of the local cluster, stdout to $(node_log "$1")"
}

cluster_jvm() { # the JVM options of every node's java (log4j config of node $1)
    echo "-server -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError"
    echo "-Djava.awt.headless=true -Dlog4j2.configurationFile=$(node_dir "$1")/log4j2.xml"
    echo "-Dkafka.logs.dir=$(node_dir "$1")"
}

cluster_id() { # the cluster's id, made on the first start (22 chars of base64url, as Kafka's)
    local id
    if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
        id=""
        while [[ -z "$id" || "$id" == -* ]]; do
            id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        done
        echo "$id" >"$CLUSTER_ID_FILE"
    fi
    cat "$CLUSTER_ID_FILE"
}

format_nodes() { # N...: format the data dirs of those nodes that have none, in parallel
    local n id pids=() failed=()
    id="$(cluster_id)"
    for n in "$@"; do
        [[ -f "$(node_dir "$n")/data/meta.properties" ]] && continue
        # shellcheck disable=SC2046
        timeout 120 java -Xmx128m $(cluster_jvm "$n") -cp "$LIB_DIR/*" kafka.tools.StorageTool \
            format -t "$id" -c "$(node_props "$n")" >>"$(node_log "$n")" 2>&1 &
        pids+=("$n:$!")
    done
    for n in "${pids[@]}"; do
        wait "${n#*:}" || failed+=("${n%%:*}")
    done
    [[ ${#failed[@]} -eq 0 ]] || die "formatting node(s) ${failed[*]} failed" "$(node_log "${failed[0]}")"
}

launch_node() { # N: start node N's JVM detached (its config written, its storage formatted)
    local n="$1" log pid
    log="$(node_log "$n")"
    # shellcheck disable=SC2206
    local heap=($KAFKA_CLUSTER_HEAP)
    # shellcheck disable=SC2046
    nohup setsid java "${heap[@]}" $(cluster_jvm "$n") -cp "$LIB_DIR/*" kafka.Kafka "$(node_props "$n")" \
        >>"$log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$(node_pid_file "$n")"
}

fresh_log() { # N: keep one previous log of node N
    local log
    log="$(node_log "$1")"
    mkdir -p "$(node_dir "$1")"
    if [[ -f "$log" ]]; then mv -f "$log" "$log.prev"; fi
    : >"$log"
}

wait_ports() { # N...: until every node's client port accepts connections (bounded)
    local n deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    for n in "$@"; do
        while ! port_open "$(node_port "$n")"; do
            node_pid "$n" >/dev/null || die "node $n exited during start$(SERVER_LOG="$(node_log "$n")" log_cause)" "$(node_log "$n")"
            ((SECONDS < deadline)) || die "node $n did not open port $(node_port "$n") within ${KAFKA_START_TIMEOUT}s" "$(node_log "$n")"
            sleep 0.3
        done
    done
}

wait_started_lines() { # N...: without kafka-python, until each node logs that it started
    local n deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    for n in "$@"; do
        while ! grep -q "Kafka Server started" "$(node_log "$n")" 2>/dev/null; do
            node_pid "$n" >/dev/null || die "node $n exited during start" "$(node_log "$n")"
            ((SECONDS < deadline)) || die "node $n not started within ${KAFKA_START_TIMEOUT}s" "$(node_log "$n")"
            sleep 0.3
        done
    done
}

cluster_start() {
    local clean=0 arg n todo=() p
    for arg in "$@"; do
        case "$arg" in
            --clean) clean=1 ;;
            *) die "unknown option for cluster start: $arg" "$KAFKA_CLUSTER_DIR" ;;
        esac
    done
    cluster_lock
    check_java
    check_cluster_heap
    for n in "${CLUSTER_NODES[@]}"; do
        if node_pid "$n" >/dev/null; then
            [[ $clean -eq 0 ]] || die "--clean given but node $n runs; run 'kafka.sh cluster stop' first" "$(node_log "$n")"
            continue
        fi
        for p in "$(node_port "$n")" "$(node_controller_port "$n")"; do
            if port_open "$p"; then die "port $p on $HOST is already in use by another process" "$(node_log "$n")"; fi
        done
        todo+=("$n")
    done
    cmd_fetch
    if [[ $clean -eq 1 ]]; then
        say "--clean: wiping $KAFKA_CLUSTER_DIR"
        rm -rf "${KAFKA_CLUSTER_DIR:?}"/node-* "$CLUSTER_ID_FILE"
    fi
    if [[ ${#todo[@]} -gt 0 ]]; then
        for n in "${todo[@]}"; do fresh_log "$n"; write_node_config "$n"; done
        format_nodes "${todo[@]}"
        for n in "${todo[@]}"; do launch_node "$n"; done
        wait_ports "${todo[@]}"
    fi
    if [[ -n "$(cluster_python)" ]]; then
        cluster_admin ready "${#CLUSTER_NODES[@]}" "$KAFKA_START_TIMEOUT" >/dev/null ||
            die "the cluster did not serve a topic replicated 3 times within ${KAFKA_START_TIMEOUT}s" "$KAFKA_CLUSTER_DIR/node-*/server.out"
    else
        wait_started_lines "${CLUSTER_NODES[@]}"
    fi
    say "cluster of ${#CLUSTER_NODES[@]} nodes running at $(cluster_bootstrap) (logs: $KAFKA_CLUSTER_DIR/node-N/server.out)"
}

stop_node() { # N: graceful stop of node N (SIGKILL after KAFKA_STOP_TIMEOUT); fine when down
    local pid
    if ! pid="$(node_pid "$1")"; then rm -f "$(node_pid_file "$1")"; return 0; fi
    stop_pid "$pid" "$KAFKA_STOP_TIMEOUT" || die "node $1 (pid $pid) survived SIGKILL" "$(node_log "$1")"
    rm -f "$(node_pid_file "$1")"
    say "node $1 stopped (pid $pid)"
}

cluster_stop() {
    cluster_lock
    if [[ -n "${1:-}" ]]; then need_node "$1"; stop_node "$1"; return 0; fi
    local n pids=() failed=0
    for n in "${CLUSTER_NODES[@]}"; do
        stop_node "$n" &
        pids+=("$!")
    done
    for n in "${pids[@]}"; do wait "$n" || failed=1; done
    [[ $failed -eq 0 ]] || die "a node could not be stopped" "$KAFKA_CLUSTER_DIR"
    say "cluster stopped"
}

cluster_kill() {
    need_node "${1:-}"
    cluster_lock
    local pid deadline=$((SECONDS + 10))
    pid="$(node_pid "$1")" || die "node $1 is not running" "$(node_log "$1")"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null || die "node $1 (pid $pid) survived SIGKILL" "$(node_log "$1")"
    rm -f "$(node_pid_file "$1")"
    say "node $1 killed (pid $pid, SIGKILL)"
}

cluster_restart() {
    need_node "${1:-}"
    local n="$1" p
    cluster_lock
    check_java
    check_cluster_heap
    stop_node "$n"
    [[ -f "$(node_dir "$n")/data/meta.properties" ]] || [[ -s "$CLUSTER_ID_FILE" ]] ||
        die "node $n has no data and the cluster no id: run 'kafka.sh cluster start'" "$KAFKA_CLUSTER_DIR"
    for p in "$(node_port "$n")" "$(node_controller_port "$n")"; do
        if port_open "$p"; then die "port $p on $HOST is already in use by another process" "$(node_log "$n")"; fi
    done
    fresh_log "$n"
    write_node_config "$n"
    format_nodes "$n"
    launch_node "$n"
    wait_ports "$n"
    if [[ -n "$(cluster_python)" ]]; then
        cluster_admin rejoined "$n" "$KAFKA_START_TIMEOUT" >/dev/null ||
            die "node $n did not rejoin the ISR of its partitions within ${KAFKA_START_TIMEOUT}s" "$(node_log "$n")"
    else
        wait_started_lines "$n"
    fi
    say "node $n restarted (pid $(node_pid "$n")), in sync at $HOST:$(node_port "$n")"
}

cluster_status() {
    local n pid running=0 line
    for n in "${CLUSTER_NODES[@]}"; do
        if pid="$(node_pid "$n")"; then
            say "node $n running (pid $pid) at $HOST:$(node_port "$n")"
            running=$((running + 1))
        else
            say "node $n not running"
        fi
    done
    ((running > 0)) || return 1
    if line="$(cluster_admin status 2>&1)"; then say "$line"; else say "no answer: $line"; return 1; fi
    ((running == ${#CLUSTER_NODES[@]}))
}

cluster_logs() {
    need_node "${1:-}"
    local log
    log="$(node_log "$1")"
    [[ -f "$log" ]] || die "no log of node $1 yet" "$log"
    case "${2:-}" in
        -f) exec tail -n 100 -F "$log" ;;
        "") exec tail -n 200 "$log" ;;
        *) die "unknown option for cluster logs: $2" "$log" ;;
    esac
}

cmd_cluster() {
    local cmd="${1:-}"
    if [[ $# -gt 0 ]]; then shift; fi
    case "$cmd" in
        start) cluster_start "$@" ;;
        stop) cluster_stop "$@" ;;
        kill) cluster_kill "$@" ;;
        restart) cluster_restart "$@" ;;
        status) cluster_status ;;
        leader-of) [[ $# -eq 2 ]] || die "usage: cluster leader-of TOPIC PARTITION" "$KAFKA_CLUSTER_DIR"
                   cluster_admin leader-of "$1" "$2" ;;
        controller) cluster_admin controller ;;
        coordinator-of) [[ $# -eq 1 ]] || die "usage: cluster coordinator-of TRANSACTIONAL_ID" "$KAFKA_CLUSTER_DIR"
                        cluster_admin coordinator-of "$1" ;;
        bootstrap) cluster_bootstrap ;;
        logs) cluster_logs "$@" ;;
        *) awk '/^#   kafka.sh cluster/ { sub(/^# ?/, ""); print }' "$SCRIPT_DIR/cluster.sh" >&2; exit 2 ;;
    esac
}
