#!/usr/bin/env bash
# benches/profile.sh: what one proxied request costs Tidegate, in measures that a
# busy machine does not change: system calls and context switches per request,
# user-space instructions per request, and resident memory per idle client
# connection.
#
# Tidegate runs with the configuration of compare.sh's throughput section (one
# worker thread, least_conn over two nginx `return 200 "ok"` servers, no access
# log). Each request measure sends a fixed number of requests (loadgen
# --requests, closed loop, 32 keep-alive connections) after an unmeasured warmup
# that opens every client and upstream connection, and divides by that number:
#   syscalls      strace -c -f on every thread of the proxy (its window also
#                 holds about a second of timer ticks, which do not scale with
#                 requests); context switches (voluntary, all threads) from /proc
#                 in a separate run without strace, which do depend on the load
#   instructions  valgrind --tool=callgrind, instrumentation switched on only around
#                 the measured requests; the profile is kept for callgrind_annotate
#   memory        VmRSS of a fresh proxy, idle and then holding IDLE_CONNECTIONS
#                 keep-alive client connections that have had one request each
#   flamegraph    where the proxy's CPU time goes: perf record (sampling, DWARF call
#                 stacks, kernel and user space, every thread) around FLAME_REQUESTS
#                 requests, folded and drawn by inferno into NAME.svg (copied to
#                 FLAMEGRAPH_DIR/NAME-flamegraph.svg when set), with the CPU time
#                 per request, the kernel's share and the functions that took the
#                 most samples themselves; Tidegate, then HAProxy when installed
#   cpu           CPU time (user and system, all threads, from /proc/PID/stat)
#                 per request at a fixed open-loop rate, Tidegate and HAProxy
#                 (benches/configs/haproxy.cfg.tmpl, as in compare.sh) taking
#                 turns over CPU_ROUNDS rounds; medians. A busy machine stretches
#                 latencies far more than it changes the CPU a request costs.
# All traffic stays on 127.0.0.1; every process started here is stopped on exit.
#
# Usage:
#   benches/profile.sh                       syscalls, instructions and memory
#   benches/profile.sh syscalls cpu          some of the measures
# Environment (defaults in brackets):
#   REQUESTS [20000], WARMUP_REQUESTS [2000], IDLE_CONNECTIONS [10000]
#   CPU_RATE [5000], CPU_DURATION [10s], CPU_ROUNDS [3]
#   FLAME_REQUESTS [200000], FLAME_FREQUENCY [1999], FLAME_TOP [12], FLAMEGRAPH_DIR [unset],
#   FLAME_TARGETS ["tidegate haproxy"], profiled in that order
#   TIDEGATE, LOADGEN   prebuilt binaries; otherwise `cargo build --release`
# Needs nginx, strace and valgrind (haproxy for cpu; perf and inferno, from
# `cargo install inferno`, for flamegraph).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIGS=$ROOT/benches/configs
REQUESTS=${REQUESTS:-20000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-2000}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
CPU_RATE=${CPU_RATE:-5000}
CPU_DURATION=${CPU_DURATION:-10s}
CPU_ROUNDS=${CPU_ROUNDS:-3}
FLAME_REQUESTS=${FLAME_REQUESTS:-200000}
FLAME_FREQUENCY=${FLAME_FREQUENCY:-1999}
MAX_CONNECTIONS=1000
CONNECTIONS=32
MEASURES=("$@")
((${#MEASURES[@]})) || MEASURES=(syscalls instructions memory)

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tidegate-profile.XXXXXX")
chmod 755 "$RUN_DIR"

SCRIPT=profile
RUN_DIR_NOTE="configs, logs, strace, callgrind and perf output"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

# loadgen_requests N: N requests, closed loop; fails unless every one got a 2xx.
loadgen_requests() {
    local out
    out=$("$LOADGEN" --url "$PROXY_URL" --connections "$CONNECTIONS" --requests "$1" \
        --duration 600s --json)
    [[ $(json_field ok "$out") == "$1" ]] || die "not every request succeeded: $out"
}

# --- setup -------------------------------------------------------------------

for tool in nginx strace valgrind callgrind_control callgrind_annotate; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [[ " ${MEASURES[*]} " == *" cpu "* ]]; then
    command -v haproxy >/dev/null || die "haproxy is not installed"
fi
if [[ " ${MEASURES[*]} " == *" flamegraph "* ]]; then
    for tool in perf inferno-collapse-perf inferno-flamegraph; do
        command -v "$tool" >/dev/null || die "$tool is not installed (perf: Debian linux-perf; inferno: cargo install inferno)"
    done
fi
if [[ -z ${TIDEGATE:-} || -z ${LOADGEN:-} ]]; then
    log "building tidegate and loadgen (release)"
    (cd "$ROOT" && cargo build --release -q -p tidegate -p tidegate-bench)
    TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    TIDEGATE=${TIDEGATE:-$TARGET_DIR/release/tidegate}
    LOADGEN=${LOADGEN:-$TARGET_DIR/release/loadgen}
fi
cp "$TIDEGATE" "$RUN_DIR/tidegate"
cp "$LOADGEN" "$RUN_DIR/loadgen"
TIDEGATE=$RUN_DIR/tidegate
LOADGEN=$RUN_DIR/loadgen
ulimit -n "$(ulimit -Hn)"

start_backend_nginx
render "$CONFIGS/tidegate.toml.tmpl" "$RUN_DIR/tidegate.toml" POLICY=least_conn \
    BACKENDS="\"${NGINX_BACKENDS[0]}\", \"${NGINX_BACKENDS[1]}\""
"$TIDEGATE" check -c "$RUN_DIR/tidegate.toml" >/dev/null

# start_tidegate [WRAPPER...]: sets PROXY_URL and PROXY_PID.
start_tidegate() {
    start tidegate "$@" "$TIDEGATE" run -c "$RUN_DIR/tidegate.toml"
    PROXY_PID=$STARTED_PID
    local line
    line=$(wait_for_line "$PROXY_PID" "$RUN_DIR/tidegate.out" '^tidegate: listener .* on http://' 60)
    PROXY_URL="http://${line##*http://}/"
}

# switches_of PID [KIND]: context switches of every thread of PID, summed; KIND is
# voluntary (the default: the thread waited) or nonvoluntary (it was preempted).
switches_of() {
    cat /proc/"$1"/task/*/status | awk -v f="^${2:-voluntary}_ctxt_switches" '$0 ~ f { n += $2 } END { print n }'
}
context_switches() { switches_of "$1" voluntary; }
preemptions() { switches_of "$1" nonvoluntary; }

per_request() { awk -v n="$1" -v d="$REQUESTS" 'BEGIN { printf "%.3f", n / d }'; }

# --- measures ----------------------------------------------------------------

measure_syscalls() {
    start_tidegate
    loadgen_requests "$WARMUP_REQUESTS"
    local before after
    before=$(context_switches "$PROXY_PID")
    loadgen_requests "$REQUESTS"
    after=$(context_switches "$PROXY_PID")
    echo "context switches per request (voluntary, all threads): $(per_request $((after - before)))"

    start strace strace -c -f -p "$PROXY_PID" -o "$RUN_DIR/strace.txt"
    local strace_pid=$STARTED_PID
    sleep 1
    loadgen_requests "$REQUESTS"
    stop_process "$strace_pid" INT
    stop_process "$PROXY_PID"
    echo "system calls per request (strace -c -f, $REQUESTS requests):"
    # Rows are "% time, seconds, usecs/call, calls, [errors,] syscall".
    awk -v d="$REQUESTS" '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ {
        printf "  %-16s %8.3f\n", $NF, $4 / d
    }' "$RUN_DIR/strace.txt"
}

measure_instructions() {
    local out=$RUN_DIR/callgrind.out
    start_tidegate valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out"
    loadgen_requests "$WARMUP_REQUESTS"
    callgrind_control -i on "$PROXY_PID" >/dev/null 2>&1
    loadgen_requests "$REQUESTS"
    callgrind_control -i off "$PROXY_PID" >/dev/null 2>&1
    stop_process "$PROXY_PID"
    local total
    total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "instructions per request (callgrind, $REQUESTS requests): $(per_request "$total")"
    echo "  profile: callgrind_annotate --inclusive=yes $out"
}

measure_memory() {
    start_tidegate
    local out idle held ok
    out=$("$LOADGEN" --url "$PROXY_URL" --idle-connections "$IDLE_CONNECTIONS" --hold 2s \
        --timeout 10s --rss-pid "$PROXY_PID" --json)
    stop_process "$PROXY_PID"
    idle=$(grep -o '"before":[0-9]*' <<<"$out" | cut -d: -f2)
    held=$(grep -o '"held":[0-9]*' <<<"$out" | cut -d: -f2)
    ok=$(json_field ok "$out")
    [[ $ok == "$IDLE_CONNECTIONS" ]] || die "not every idle connection was answered: $out"
    echo "memory: RSS idle $idle KiB, holding $ok connections $held KiB," \
        "$(awk -v a="$idle" -v b="$held" -v n="$ok" 'BEGIN { printf "%.2f", (b - a) / n }') KiB per connection"
}

# flame TARGET: profiles the proxy at PROXY_PID over FLAME_REQUESTS requests to
# PROXY_URL; writes TARGET.svg and prints CPU per request, the kernel's share of it
# and what took the most samples.
flame() {
    local target=$1 data=$RUN_DIR/$1.perf.data folded=$RUN_DIR/$1.folded svg=$RUN_DIR/$1.svg
    loadgen_requests "$WARMUP_REQUESTS"
    start "perf-$target" perf record -F "$FLAME_FREQUENCY" --call-graph dwarf,8192 -p "$PROXY_PID" -o "$data"
    local perf_pid=$STARTED_PID
    # perf says nothing once it is attached; give it a moment before the requests.
    sleep 1
    local switches preempted
    switches=$(context_switches "$PROXY_PID")
    preempted=$(preemptions "$PROXY_PID")
    loadgen_requests "$FLAME_REQUESTS"
    switches=$(($(context_switches "$PROXY_PID") - switches))
    preempted=$(($(preemptions "$PROXY_PID") - preempted))
    stop_process "$perf_pid" INT
    stop_process "$PROXY_PID"
    perf script -i "$data" 2>/dev/null | inferno-collapse-perf >"$folded"
    inferno-flamegraph --title "$target, $FLAME_REQUESTS proxied requests (perf, $FLAME_FREQUENCY Hz)" \
        --minwidth 0.2 <"$folded" >"$svg"
    if [[ -n ${FLAMEGRAPH_DIR:-} ]]; then
        cp "$svg" "$FLAMEGRAPH_DIR/$target-flamegraph.svg"
        svg=$FLAMEGRAPH_DIR/$target-flamegraph.svg
    fi
    # Each folded line ends in the CPU time (ns) of its samples.
    local per_request kernel
    per_request=$(awk -v n="$FLAME_REQUESTS" '{ t += $NF } END { printf "%.1f", t / n / 1000 }' "$folded")
    kernel=$(perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null |
        awk '/\[kernel/ { sub("%", "", $1); k += $1 } END { printf "%.0f", k }')
    echo "$target: $per_request µs of CPU per request while sampled, $kernel% of it in the kernel;" \
        "per request $(awk -v n="$FLAME_REQUESTS" -v s="$switches" -v p="$preempted" \
            'BEGIN { printf "%.3f context switches, %.3f preemptions", s / n, p / n }'); $svg"
    echo "  functions with the most samples of their own (perf report --no-children):"
    perf report -i "$data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
        awk -v top="${FLAME_TOP:-12}" '/^ +[0-9.]+%/ && n++ < top { sub(/[ -]+$/, ""); print "  " $0 }'
}

measure_flamegraph() {
    local target
    for target in ${FLAME_TARGETS:-tidegate haproxy}; do
        case $target in
        tidegate) start_tidegate ;;
        haproxy)
            command -v haproxy >/dev/null || continue
            start_haproxy haproxy "${NGINX_BACKENDS[@]}"
            ;;
        *) die "unknown FLAME_TARGETS entry $target (tidegate, haproxy)" ;;
        esac
        flame "$target"
    done
}

# cpu_ticks PID: user and system clock ticks of every thread of PID so far.
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# median: the middle of the numbers on stdin (the upper one of an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'; }

measure_cpu() {
    local hz target round out ok before after user system
    hz=$(getconf CLK_TCK)
    start_tidegate
    local -A url pid
    url[tidegate]=$PROXY_URL pid[tidegate]=$PROXY_PID
    start_haproxy haproxy "${NGINX_BACKENDS[@]}"
    url[haproxy]=$PROXY_URL pid[haproxy]=$PROXY_PID
    local -A users systems
    for ((round = 1; round <= CPU_ROUNDS; round++)); do
        for target in tidegate haproxy; do
            "$LOADGEN" --url "${url[$target]}" --connections "$CONNECTIONS" --rate "$CPU_RATE" \
                --duration 1s --json >/dev/null
            read -r -a before < <(cpu_ticks "${pid[$target]}")
            out=$("$LOADGEN" --url "${url[$target]}" --connections "$CONNECTIONS" \
                --rate "$CPU_RATE" --duration "$CPU_DURATION" --json)
            read -r -a after < <(cpu_ticks "${pid[$target]}")
            ok=$(json_field ok "$out")
            ((ok > 0)) || die "no request to $target succeeded: $out"
            user=$(awk -v t=$((after[0] - before[0])) -v hz="$hz" -v n="$ok" \
                'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
            system=$(awk -v t=$((after[1] - before[1])) -v hz="$hz" -v n="$ok" \
                'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
            log "cpu $target round $round: $user µs user + $system µs system per request ($ok requests)"
            users[$target]+="$user "
            systems[$target]+="$system "
        done
    done
    stop_process "${pid[tidegate]}"
    stop_process "${pid[haproxy]}"
    echo "CPU time per request at $CPU_RATE req/s (median of $CPU_ROUNDS rounds of $CPU_DURATION):"
    for target in tidegate haproxy; do
        user=$(tr ' ' '\n' <<<"${users[$target]}" | grep . | median)
        system=$(tr ' ' '\n' <<<"${systems[$target]}" | grep . | median)
        printf '  %-9s %6.1f µs user + %6.1f µs system = %6.1f µs\n' "$target" "$user" "$system" \
            "$(awk -v a="$user" -v b="$system" 'BEGIN { print a + b }')"
    done
}

for measure in "${MEASURES[@]}"; do
    case $measure in
    syscalls | instructions | memory | cpu | flamegraph) "measure_$measure" ;;
    *) die "unknown measure $measure (syscalls, instructions, memory, cpu, flamegraph)" ;;
    esac
done
