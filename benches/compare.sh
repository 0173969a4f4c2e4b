#!/usr/bin/env bash
# benches/compare.sh: Tidegate against HAProxy and nginx on this machine, in one run.
#
# Starts the same backends and, configured equivalently (one worker thread each,
# upstream keep-alive, least connections, no logging; configs rendered from
# benches/configs/*.tmpl), Tidegate, HAProxy and nginx, then measures with loadgen:
#   a. throughput  maximum throughput, closed loop, 32 connections, tiny answers
#   b. latency     added latency at fixed rates (open loop), proxy minus direct
#   c. hetero      tail latency over four backends, one ten times slower, at 70%
#                  of capacity: Tidegate round_robin / least_conn / peak_ewma vs
#                  HAProxy leastconn and nginx least_conn
#   d. memory      resident size with 10,000 idle keep-alive client connections
# Within each round the targets alternate (direct, tidegate, haproxy, nginx); the
# tables hold medians over rounds and each proxy's ratio to HAProxy, and go into
# benches/RESULTS.md between the compare markers (the rest of the file is kept).
# All traffic stays on 127.0.0.1; every process started here is stopped on exit.
#
# Usage:
#   benches/compare.sh              full run: 5 rounds of 5 s runs, about 13 minutes on 2 cores
#   QUICK=1 benches/compare.sh      smoke test: 1 round of 2 s runs, 2,000 idle connections;
#                                   writes RESULTS.md into the run directory, not benches/
# Environment (defaults in brackets):
#   ROUNDS [5], DURATION [5s], WARMUP [1s]   rounds and per-run measured time / warmup
#   LATENCY_ROUNDS [10], LATENCY_DURATION [2s]  section b's own rounds and measured time:
#                                            twice the rounds of half the length, so one
#                                            stall of the host moves fewer of its medians
#   RATES ["1000 5000 20000"]                rates of section b, req/s
#   IDLE_CONNECTIONS [10000], HOLD [5s]      section d
#   SECTIONS ["throughput latency hetero memory"]
#   RESULTS [benches/RESULTS.md]             the file whose generated section is replaced
#   PIN [0]                                  1: each proxy on the last CPU, the load generator
#                                            and the backends on the others (taskset; 2+ CPUs),
#                                            so a proxy's figure is not its share of a contended core
#   TIDEGATE, LOADGEN, COMPARE_REPORT        prebuilt binaries; otherwise `cargo build --release`
#   BASELINE                                 a second tidegate binary (say, built from an earlier
#                                            commit): one more target of sections a and b, run
#                                            next to TIDEGATE's in swapped order every other round
#                                            and compared with it round by round
#   MAX_SECONDS [1800]                       the run stops with an error past this
# Needs haproxy and nginx (Debian: apt-get install haproxy nginx).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCHES=$ROOT/benches
CONFIGS=$BENCHES/configs

# The command as typed, with the settings given in the environment, for RESULTS.md.
COMMAND="benches/compare.sh"
for var in QUICK ROUNDS DURATION WARMUP LATENCY_ROUNDS LATENCY_DURATION RATES IDLE_CONNECTIONS HOLD SECTIONS PIN BASELINE; do
    if [[ -n ${!var:-} ]]; then
        COMMAND="$var=\"${!var}\" $COMMAND"
    fi
done

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    ROUNDS=${ROUNDS:-1} DURATION=${DURATION:-2s} WARMUP=${WARMUP:-500ms}
    LATENCY_ROUNDS=${LATENCY_ROUNDS:-$ROUNDS} LATENCY_DURATION=${LATENCY_DURATION:-$DURATION}
    IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-2000} HOLD=${HOLD:-2s}
else
    # Five rounds: on a shared host, a pause of the whole machine now and then
    # stretches one 5 s run's tail tenfold, for whichever proxy is running; a
    # median of five needs three such rounds to move.
    ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-5s} WARMUP=${WARMUP:-1s}
    # Section b's tails are the noisiest figures: a 1 ms stall of the host is a
    # few of a 1k req/s run's p99 requests. More, shorter rounds in the same
    # time give its medians more votes.
    LATENCY_ROUNDS=${LATENCY_ROUNDS:-10} LATENCY_DURATION=${LATENCY_DURATION:-2s}
    IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000} HOLD=${HOLD:-5s}
fi
RATES=${RATES:-"1000 5000 20000"}
SECTIONS=${SECTIONS:-"throughput latency hetero memory"}
MAX_SECONDS=${MAX_SECONDS:-1800}
BASELINE=${BASELINE:-}
BASELINE_GIVEN=$BASELINE
PIN=${PIN:-0}
CONNECTIONS=32            # sections a and b
HETERO_CONNECTIONS=32     # section c
HETERO_LOAD=0.7
FAST_LATENCY=2ms
SLOW_LATENCY=20ms
SLOW_THRESHOLD=10ms       # responses slower than this came from the slow backend
LOADGEN_LIMIT=180         # seconds any one loadgen call may take

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tidegate-compare.XXXXXX")
chmod 755 "$RUN_DIR"
RUNS=$RUN_DIR/runs.jsonl
: >"$RUNS"
if [[ $QUICK == 1 ]]; then
    RESULTS=${RESULTS:-$RUN_DIR/RESULTS.md}
else
    RESULTS=${RESULTS:-$BENCHES/RESULTS.md}
fi

SCRIPT=compare
RUN_DIR_NOTE="configs, logs, runs.jsonl"
# shellcheck source=benches/lib.sh
source "$BENCHES/lib.sh"

# --- the servers -------------------------------------------------------------


# start_tidegate_backend NAME LATENCY: sets BACKEND_ADDR.
start_tidegate_backend() {
    start "$1" "$TIDEGATE" backend --port 0 --latency "$2"
    local line
    line=$(wait_for_line "$STARTED_PID" "$RUN_DIR/$1.out" '^tidegate backend listening on http://')
    pin_to "$OTHER_CPUS" "$STARTED_PID"
    BACKEND_ADDR=${line##*http://}
}

# start_tidegate NAME POLICY BACKEND...: sets PROXY_URL and PROXY_PID.
start_tidegate() {
    local name=$1 policy=$2 list="" backend line
    shift 2
    for backend in "$@"; do
        list+="${list:+, }\"$backend\""
    done
    render "$CONFIGS/tidegate.toml.tmpl" "$RUN_DIR/$name.toml" POLICY="$policy" BACKENDS="$list"
    "$TIDEGATE" check -c "$RUN_DIR/$name.toml" >"$RUN_DIR/$name.check" 2>&1 ||
        die "tidegate check rejects $RUN_DIR/$name.toml: $(cat "$RUN_DIR/$name.check")"
    start "$name" "$TIDEGATE" run -c "$RUN_DIR/$name.toml"
    line=$(wait_for_line "$STARTED_PID" "$RUN_DIR/$name.out" '^tidegate: listener .* on http://')
    PROXY_URL="http://${line##*http://}/"
    PROXY_PID=$STARTED_PID
}

# start_nginx NAME BACKEND...: sets PROXY_URL and PROXY_PID (the master).
start_nginx() {
    local name=$1 servers="" backend
    shift
    for backend in "$@"; do
        servers+="${servers:+$'\n'}        server $backend;"
    done
    free_port
    render "$CONFIGS/nginx.conf.tmpl" "$RUN_DIR/$name.conf" NAME="$name" RUN_DIR="$RUN_DIR" \
        NOFILE="$NOFILE" MAX_CONNECTIONS="$MAX_CONNECTIONS" LISTEN_PORT="$FREE_PORT" \
        UPSTREAM_SERVERS="$servers"
    nginx_temp_dirs "$name"
    start "$name" nginx -p "$RUN_DIR/" -e "$RUN_DIR/$name.error.log" -c "$RUN_DIR/$name.conf" -g 'daemon off;'
    wait_for_port "$STARTED_PID" "$FREE_PORT" "$name"
    PROXY_URL="http://127.0.0.1:$FREE_PORT/"
    PROXY_PID=$STARTED_PID
}

# start_proxy KIND NAME POLICY BACKEND...: any of the three; sets PROXY_URL, PROXY_PID.
start_proxy() {
    local kind=$1 name=$2 policy=$3
    shift 3
    case $kind in
    tidegate) start_tidegate "$name" "$policy" "$@" ;;
    baseline) TIDEGATE=$BASELINE start_tidegate "$name" "$policy" "$@" ;;
    haproxy) start_haproxy "$name" "$@" ;;
    nginx) start_nginx "$name" "$@" ;;
    esac
    pin_to "$PROXY_CPU" "$PROXY_PID"
    probe "$name" "$PROXY_URL"
}

# --- measuring ---------------------------------------------------------------

check_budget() {
    ((SECONDS < MAX_SECONDS)) || die "over MAX_SECONDS=$MAX_SECONDS; stopping"
}


# probe NAME URL: a short run that must get only 2xx answers.
probe() {
    local out
    out=$(timeout 30 "$LOADGEN" --url "$2" --connections 1 --duration 300ms --json) ||
        die "probe of $1 ($2) failed"
    [[ $(json_field error_total "$out") == 0 && $(json_field ok "$out") -gt 0 ]] ||
        die "$1 ($2) does not answer 2xx: $out"
}

# pid_args OPTION PID: sets PID_ARGS to loadgen's OPTION (--cpu-pid, --rss-pid) for
# PID and for each of its children (nginx's worker), so a figure covers the whole proxy.
pid_args() {
    local child
    PID_ARGS=("$1" "$2")
    for child in $(pgrep -P "$2" || true); do
        PID_ARGS+=("$1" "$child")
    done
}

# measure SECTION TARGET URL ROUND LOADGEN-ARGS...: one tagged run appended to runs.jsonl.
# M_DURATION and M_WARMUP override DURATION and WARMUP for this call.
measure() {
    local section=$1 target=$2 url=$3 round=$4 out
    shift 4
    check_budget
    out=$(timeout "$LOADGEN_LIMIT" "$LOADGEN" --url "$url" --json \
        --duration "${M_DURATION:-$DURATION}" --warmup "${M_WARMUP:-$WARMUP}" \
        --tag "section=$section" --tag "target=$target" --tag "round=$round" "$@") ||
        die "loadgen failed: $section $target round $round ($url)"
    printf '%s\n' "$out" >>"$RUNS"
    local cpu_note=""
    if grep -q '"per_response_us":[0-9]' <<<"$out"; then
        cpu_note=", proxy CPU $(json_field per_response_us "$out") us/request"
    fi
    log "$section $target round $round: $(json_field achieved_rate "$out") req/s," \
        "p50 $(json_field p50 "$out") us, p99 $(json_field p99 "$out") us, errors $(json_field error_total "$out")$cpu_note"
}

# --- sections ----------------------------------------------------------------

# round_targets ROUND: sets TARGETS, the order of section a's and b's runs in ROUND;
# the baseline binary, when given, runs after Tidegate's in odd rounds and before it
# in even ones, so neither always follows the direct run.
round_targets() {
    if [[ -z $BASELINE ]]; then
        TARGETS=(direct tidegate haproxy nginx)
    elif (($1 % 2)); then
        TARGETS=(direct tidegate baseline haproxy nginx)
    else
        TARGETS=(direct baseline tidegate haproxy nginx)
    fi
}

section_throughput_latency() {
    local -A url=([direct]="http://${NGINX_BACKENDS[0]}/") pid=()
    local kind round rate target kinds=(tidegate haproxy nginx)
    [[ -z $BASELINE ]] || kinds+=(baseline)
    for kind in "${kinds[@]}"; do
        start_proxy "$kind" "$kind-ab" least_conn "${NGINX_BACKENDS[@]}"
        url[$kind]=$PROXY_URL
        pid[$kind]=$PROXY_PID
    done
    if [[ " $SECTIONS " == *" throughput "* ]]; then
        for ((round = 1; round <= ROUNDS; round++)); do
            round_targets "$round"
            for target in "${TARGETS[@]}"; do
                PID_ARGS=()
                [[ $target == direct ]] || pid_args --cpu-pid "${pid[$target]}"
                measure throughput "$target" "${url[$target]}" "$round" --connections "$CONNECTIONS" "${PID_ARGS[@]}"
            done
        done
    fi
    if [[ " $SECTIONS " == *" latency "* ]]; then
        for ((round = 1; round <= LATENCY_ROUNDS; round++)); do
            round_targets "$round"
            for rate in $RATES; do
                for target in "${TARGETS[@]}"; do
                    M_DURATION=$LATENCY_DURATION measure latency "$target" "${url[$target]}" "$round" \
                        --connections "$CONNECTIONS" --rate "$rate" --tag "rate=$rate"
                done
            done
        done
    fi
    for target in "${!pid[@]}"; do
        stop_process "${pid[$target]}"
    done
}

section_hetero() {
    local backends=() i rate round target kind
    for i in 1 2 3; do
        start_tidegate_backend "fast-backend-$i" "$FAST_LATENCY"
        backends+=("$BACKEND_ADDR")
    done
    start_tidegate_backend slow-backend "$SLOW_LATENCY"
    backends+=("$BACKEND_ADDR")
    log "heterogeneous backends: ${backends[*]} (the last one ${SLOW_LATENCY}, the others ${FAST_LATENCY})"

    # The backends' own latencies, measured directly, give the capacity.
    M_DURATION=2s M_WARMUP=500ms measure hetero-probe fast "http://${backends[0]}/" 1 --connections 8 --rate 500
    M_DURATION=2s M_WARMUP=500ms measure hetero-probe slow "http://${backends[3]}/" 1 --connections 16 --rate 500
    rate=$("$COMPARE_REPORT" capacity --runs "$RUNS" --connections "$HETERO_CONNECTIONS" \
        --load "$HETERO_LOAD" --fast-backends 3 --slow-backends 1)
    log "heterogeneous test rate: $rate req/s (${HETERO_LOAD} of capacity)"

    local -A url=() pid=()
    for target in tidegate-round_robin tidegate-least_conn tidegate-peak_ewma haproxy nginx; do
        kind=${target%%-*}
        start_proxy "$kind" "$target-c" "${target#tidegate-}" "${backends[@]}"
        url[$target]=$PROXY_URL
        pid[$target]=$PROXY_PID
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for target in tidegate-round_robin tidegate-least_conn tidegate-peak_ewma haproxy nginx; do
            measure hetero "$target" "${url[$target]}" "$round" --connections "$HETERO_CONNECTIONS" \
                --rate "$rate" --count-over "$SLOW_THRESHOLD" --tag "rate=$rate"
        done
    done
    for target in "${!pid[@]}"; do
        stop_process "${pid[$target]}"
    done
}

section_memory() {
    local round kind out
    for ((round = 1; round <= ROUNDS; round++)); do
        for kind in tidegate haproxy nginx; do
            check_budget
            start_proxy "$kind" "$kind-d$round" least_conn "${NGINX_BACKENDS[@]}"
            sleep 0.5
            pid_args --rss-pid "$PROXY_PID"
            out=$(timeout "$LOADGEN_LIMIT" "$LOADGEN" --url "$PROXY_URL" --json \
                --idle-connections "$IDLE_CONNECTIONS" --hold "$HOLD" --timeout 10s "${PID_ARGS[@]}" \
                --tag section=memory --tag "target=$kind" --tag "round=$round" 2>>"$RUN_DIR/idle.err") ||
                die "idle connections against $kind failed"
            printf '%s\n' "$out" >>"$RUNS"
            log "memory $kind round $round: ok $(json_field ok "$out"), still open" \
                "$(json_field still_open "$out"), rss $(grep -o '"rss_kib":{[^}]*}' <<<"$out")"
            stop_process "$PROXY_PID"
        done
    done
}

# --- main --------------------------------------------------------------------

command -v haproxy >/dev/null || die "haproxy is not installed (Debian: apt-get install haproxy)"
command -v nginx >/dev/null || die "nginx is not installed (Debian: apt-get install nginx)"

if [[ -z ${TIDEGATE:-} || -z ${LOADGEN:-} || -z ${COMPARE_REPORT:-} ]]; then
    log "building tidegate and tidegate-bench (release)"
    (cd "$ROOT" && cargo build --release -p tidegate -p tidegate-bench) >&2
    TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    TIDEGATE=${TIDEGATE:-$TARGET_DIR/release/tidegate}
    LOADGEN=${LOADGEN:-$TARGET_DIR/release/loadgen}
    COMPARE_REPORT=${COMPARE_REPORT:-$TARGET_DIR/release/compare-report}
fi
# Copies, so a rebuild during the run cannot swap a binary between rounds.
mkdir -p "$RUN_DIR/bin"
for bin in TIDEGATE LOADGEN COMPARE_REPORT; do
    [[ -x ${!bin} ]] || die "$bin=${!bin} is not an executable"
    cp "${!bin}" "$RUN_DIR/bin/"
    printf -v "$bin" '%s' "$RUN_DIR/bin/$(basename "${!bin}")"
done
if [[ -n $BASELINE ]]; then
    [[ -x $BASELINE ]] || die "BASELINE=$BASELINE is not an executable"
    cp "$BASELINE" "$RUN_DIR/bin/tidegate-baseline"
    BASELINE=$RUN_DIR/bin/tidegate-baseline
fi

pin_setup
if [[ $PIN == 1 ]]; then
    # Every loadgen call runs on the load generator's CPUs.
    printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$OTHER_CPUS" "$LOADGEN" >"$RUN_DIR/bin/loadgen-pinned"
    chmod +x "$RUN_DIR/bin/loadgen-pinned"
    LOADGEN=$RUN_DIR/bin/loadgen-pinned
fi

ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
MAX_CONNECTIONS=$((IDLE_CONNECTIONS + 1000))
((NOFILE >= MAX_CONNECTIONS + 100)) ||
    die "open-file limit $NOFILE is too low for $IDLE_CONNECTIONS idle connections; raise the hard limit or set IDLE_CONNECTIONS"

# cpu_busy: percent of all cores busy over one second (other work on the machine
# shows up as noise in every number; RESULTS.md records how much there was).
cpu_busy() {
    local a b
    read -r _ a < <(awk '/^cpu / {print "x", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    sleep 1
    read -r _ b < <(awk '/^cpu / {print "x", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}'
}

BUSY_BEFORE=$(cpu_busy)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# steal_ticks: CPU time the hypervisor gave to other guests, then all CPU time,
# in ticks since boot. On a shared host, steal during the run is what stretches
# latencies without showing up as work on this machine.
steal_ticks() { awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
read -r STEAL_START TICKS_START < <(steal_ticks)
log "run directory $RUN_DIR; sections: $SECTIONS; $ROUNDS round(s) of $DURATION after $WARMUP warmup" \
    "(latency: $LATENCY_ROUNDS of $LATENCY_DURATION)"
log "before the run: ${BUSY_BEFORE}% of the CPUs busy, load average $LOAD_BEFORE"
start_backend_nginx
if [[ " $SECTIONS " == *" throughput "* || " $SECTIONS " == *" latency "* ]]; then
    section_throughput_latency
fi
if [[ " $SECTIONS " == *" hetero "* ]]; then
    section_hetero
fi
if [[ " $SECTIONS " == *" memory "* ]]; then
    section_memory
fi

CONTEXT=$RUN_DIR/context.md
{
    echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') in $((SECONDS / 60)) min $((SECONDS % 60)) s by"
    echo
    echo "    $COMMAND"
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc) |"
    echo "| memory | $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
    echo "| kernel | $(uname -sr) |"
    echo "| HAProxy | $(haproxy -v | head -1 | awk '{print $3}') |"
    echo "| nginx | $(nginx -v 2>&1 | sed 's|.*nginx/||') |"
    echo "| Tidegate | $("$TIDEGATE" --version) (release build) |"
    if [[ -n $BASELINE ]]; then
        echo "| baseline binary | $("$BASELINE" --version), \`$BASELINE_GIVEN\` |"
    fi
    echo "| load generator | $("$LOADGEN" --version), one thread |"
    steal=0 ticks=0
    read -r steal ticks < <(steal_ticks)
    echo "| other work on the machine | ${BUSY_BEFORE}% of the CPUs busy just before the run; load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after |"
    echo "| host steal time during the run | $(awk -v s=$((steal - STEAL_START)) -v t=$((ticks - TICKS_START)) 'BEGIN { printf "%.1f", t ? 100 * s / t : 0 }')% of all CPU time (the steal column of /proc/stat) |"
    echo
    echo "$ROUNDS round(s); each run measures $DURATION after $WARMUP of unmeasured warmup (section b:"
    echo "$LATENCY_ROUNDS round(s) of $LATENCY_DURATION); within a round the targets take turns. Every proxy"
    echo "has one worker thread, upstream keep-alive, least connections and no logging (configs:"
    echo "\`benches/configs/\`). Backends of a, b and d: one nginx process with \`worker_processes 2\`"
    echo "and \`reuseport\` serving two \`return 200 \"ok\"\` servers. Backends of c: four"
    echo "\`tidegate backend\` processes, three with \`--latency $FAST_LATENCY\` and one with \`--latency $SLOW_LATENCY\`."
    if [[ $PIN == 1 ]]; then
        echo "Pinned (\`PIN=1\`): each proxy runs on CPU $PROXY_CPU alone; the load generator and the backends"
        echo "share CPUs $OTHER_CPUS (and the direct runs see no proxy at all)."
    else
        echo "Nothing is pinned: load generator, proxy and backends share the $(nproc) cores, so every number"
        echo "includes that contention."
    fi
} >"$CONTEXT"
"$COMPARE_REPORT" render --runs "$RUNS" --context "$CONTEXT" --results "$RESULTS"
log "tables written to $RESULTS"
