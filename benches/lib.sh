# benches/lib.sh: process, port and template helpers shared by compare.sh and profile.sh.
#
# Source it after setting SCRIPT (the name log lines carry) and RUN_DIR (where every
# started process writes NAME.out and NAME.err). It installs an EXIT trap that stops
# every process started with `start`; RUN_DIR_NOTE says what the run directory holds.
# shellcheck shell=bash

log() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$SCRIPT" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# --- processes ---------------------------------------------------------------

PIDS=()

# stop_process PID [SIGNAL]: SIGNAL (TERM unless given; strace and valgrind want INT)
# to PID, then SIGKILL to it and its children (an nginx master's workers) after 10 s.
stop_process() {
    local pid=$1 signal=${2:-TERM} children i
    children=$(pgrep -P "$pid" 2>/dev/null || true)
    kill "-$signal" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" $children 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=()
    for i in "${PIDS[@]}"; do
        [[ $i == "$pid" ]] || kept+=("$i")
    done
    PIDS=("${kept[@]}")
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        stop_process "$pid"
    done
    log "run directory (${RUN_DIR_NOTE:-logs}): $RUN_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: runs COMMAND in the background, output in RUN_DIR/NAME.{out,err};
# sets STARTED_PID.
start() {
    local name=$1
    shift
    "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

# wait_for_line PID FILE PATTERN [SECONDS]: prints the first line of FILE matching
# PATTERN; fails when PID exits first or after SECONDS (10 unless given).
wait_for_line() {
    local pid=$1 file=$2 pattern=$3 seconds=${4:-10} i line
    for ((i = 0; i < seconds * 20; i++)); do
        line=$(grep -m1 -E "$pattern" "$file" 2>/dev/null || true)
        if [[ -n $line ]]; then
            printf '%s\n' "$line"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$(basename "$file" .out) exited: $(tail -5 "${file%.out}.err")"
        sleep 0.05
    done
    die "no line matching '$pattern' in $file after $seconds s"
}

# --- pinning -----------------------------------------------------------------

# pin_setup: with PIN=1, sets PROXY_CPU (the last CPU) and OTHER_CPUS (the rest),
# where the proxy under test and everything else run; fails on one CPU.
pin_setup() {
    PIN=${PIN:-0}
    PROXY_CPU=$(($(nproc) - 1))
    OTHER_CPUS=0-$((PROXY_CPU > 1 ? PROXY_CPU - 1 : 0))
    [[ $PIN == 1 ]] || return 0
    ((PROXY_CPU >= 1)) || die "PIN=1 needs at least 2 CPUs"
    command -v taskset >/dev/null || die "PIN=1 needs taskset (Debian: util-linux)"
}

# pin_to CPUS PID: with PIN=1, every thread of PID and of its children (an nginx
# master's workers) runs only on CPUS.
pin_to() {
    [[ ${PIN:-0} == 1 ]] || return 0
    local pid
    for pid in "$2" $(pgrep -P "$2" 2>/dev/null || true); do
        taskset -a -p -c "$1" "$pid" >/dev/null || die "taskset -a -p -c $1 $pid failed"
    done
}

# pinned COMMAND...: COMMAND on OTHER_CPUS with PIN=1, as it is otherwise.
pinned() {
    if [[ ${PIN:-0} == 1 ]]; then
        taskset -c "$OTHER_CPUS" "$@"
    else
        "$@"
    fi
}

# --- ports and configs -------------------------------------------------------

USED_PORTS=" "

listening_ports() {
    local file sl local_address state rest
    for file in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $file ]] || continue
        while read -r sl local_address _ state rest; do
            [[ $state == 0A ]] && echo $((16#${local_address##*:}))
        done < <(tail -n +2 "$file")
    done
}

# free_port: sets FREE_PORT to a port in 20000-31999 (below the ephemeral range)
# that nothing listens on and this run has not handed out yet.
free_port() {
    local taken port i
    taken=" $(listening_ports | tr '\n' ' ')$USED_PORTS"
    for ((i = 0; i < 500; i++)); do
        port=$((20000 + RANDOM % 12000))
        if [[ $taken != *" $port "* ]]; then
            USED_PORTS+="$port "
            FREE_PORT=$port
            return 0
        fi
    done
    die "no free port in 20000-31999"
}

# render TEMPLATE OUT KEY=VALUE...: replaces each @KEY@ in TEMPLATE; fails when a
# placeholder is left.
render() {
    local text out=$2 pair
    text=$(<"$1")
    shift 2
    for pair in "$@"; do
        text=${text//"@${pair%%=*}@"/"${pair#*=}"}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then
        die "unfilled placeholder ${BASH_REMATCH[0]} in $out"
    fi
    printf '%s\n' "$text" >"$out"
}

# nginx_temp_dirs NAME: the temp directories nginx wants, under RUN_DIR/NAME-temp.
nginx_temp_dirs() {
    local dir
    for dir in client proxy fastcgi uwsgi scgi; do
        mkdir -p "$RUN_DIR/$1-temp/$dir"
    done
}

# json_field NAME JSON: the value of the first "NAME": field of a flat JSON object.
json_field() { grep -o "\"$1\":[^,}]*" <<<"$2" | head -1 | cut -d: -f2; }

# wait_for_port PID PORT NAME: waits until 127.0.0.1:PORT accepts connections.
wait_for_port() {
    local pid=$1 port=$2 name=$3 i
    for ((i = 0; i < 200; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -5 "$RUN_DIR/$name.err")"
        sleep 0.05
    done
    die "$name does not accept on 127.0.0.1:$port after 10 s"
}

# start_backend_nginx: one nginx from $CONFIGS/backend-nginx.conf.tmpl serving
# `return 200 "ok"` on two free ports (on OTHER_CPUS with PIN=1); sets
# NGINX_BACKENDS to their addresses.
start_backend_nginx() {
    free_port
    BACKEND_PORT_1=$FREE_PORT
    free_port
    BACKEND_PORT_2=$FREE_PORT
    local conf=$RUN_DIR/backend-nginx.conf
    render "$CONFIGS/backend-nginx.conf.tmpl" "$conf" RUN_DIR="$RUN_DIR" NOFILE="${NOFILE:-$(ulimit -n)}" \
        BACKEND_PORT_1="$BACKEND_PORT_1" BACKEND_PORT_2="$BACKEND_PORT_2"
    nginx_temp_dirs backend-nginx
    start backend-nginx nginx -p "$RUN_DIR/" -e "$RUN_DIR/backend-nginx.error.log" -c "$conf" -g 'daemon off;'
    wait_for_port "$STARTED_PID" "$BACKEND_PORT_1" backend-nginx
    wait_for_port "$STARTED_PID" "$BACKEND_PORT_2" backend-nginx
    pin_to "${OTHER_CPUS:-0}" "$STARTED_PID"
    NGINX_BACKENDS=("127.0.0.1:$BACKEND_PORT_1" "127.0.0.1:$BACKEND_PORT_2")
}

# start_haproxy NAME BACKEND...: HAProxy from $CONFIGS/haproxy.cfg.tmpl with
# $MAX_CONNECTIONS and, when set, $HAPROXY_BIND_OPTIONS after its `bind` address;
# sets PROXY_URL and PROXY_PID.
start_haproxy() {
    local name=$1 servers="" backend i=0
    shift
    for backend in "$@"; do
        i=$((i + 1))
        servers+="${servers:+$'\n'}    server b$i $backend"
    done
    free_port
    render "$CONFIGS/haproxy.cfg.tmpl" "$RUN_DIR/$name.cfg" LISTEN_PORT="$FREE_PORT" \
        MAX_CONNECTIONS="$MAX_CONNECTIONS" SERVERS="$servers" \
        BIND_OPTIONS="${HAPROXY_BIND_OPTIONS:-}"
    start "$name" haproxy -f "$RUN_DIR/$name.cfg"
    wait_for_port "$STARTED_PID" "$FREE_PORT" "$name"
    PROXY_URL="http${HAPROXY_BIND_OPTIONS:+s}://127.0.0.1:$FREE_PORT/"
    PROXY_PID=$STARTED_PID
}
