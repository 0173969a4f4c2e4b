#!/usr/bin/env bash
# benches/clients.sh: closed-loop throughput as two common load generators see it,
# through Tidegate and HAProxy configured as in compare.sh section a. (one worker
# thread each, least connections over two nginx `return 200 "ok"` servers, upstream
# keep-alive, no access log):
#   ab    ApacheBench, `ab -k -n REQUESTS -c CONCURRENCY`: HTTP/1.0 requests with
#         `Connection: Keep-Alive`
#   wrk   `wrk -t1 -c CONCURRENCY -d DURATION`: HTTP/1.1, one client thread
#   h2load  `h2load -t1 -c CONCURRENCY -m1 -D DURATION` (Debian nghttp2-client):
#         HTTP/2 over TLS, one stream at a time per connection; TLS=1 only
# Each client's rounds alternate the proxies (ROUNDS rounds); the table gives
# every round and the medians. BASELINE, when set, is a second tidegate binary
# measured in the same rounds (e.g. a build of an earlier commit). With TLS=1 the
# clients speak HTTPS to both proxies, which terminate TLS with the same
# self-signed P-256 certificate (made here with openssl) and offer HTTP/1.1
# (HAProxy `bind ... ssl crt ... alpn h2,http/1.1`, Tidegate `tls = { cert, key }`,
# which offers the same two);
# the backends stay plain HTTP. TLS_IDLE=COUNT (with TLS=1) then measures each
# proxy's resident memory holding COUNT idle keep-alive TLS connections, one
# request answered on each (benches/tls_idle.py, Python 3's ssl).
#
# Usage: benches/clients.sh
# Environment (defaults in brackets): CLIENTS ["ab wrk"], REQUESTS [500000],
#   DURATION [10s], CONCURRENCY [32], ROUNDS [5], PIN [0] (1: each proxy on the
#   last CPU, the client and the backends on the others, as compare.sh does),
#   TIDEGATE (prebuilt binary; otherwise `cargo build --release`), BASELINE,
#   TLS [0], TLS_IDLE [none].
# Needs nginx, haproxy, ab (Debian apache2-utils) and wrk.
# All traffic stays on 127.0.0.1; every process started here is stopped on exit.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIGS=$ROOT/benches/configs
CLIENTS=${CLIENTS-"ab wrk"}
REQUESTS=${REQUESTS:-500000}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
ROUNDS=${ROUNDS:-5}
MAX_CONNECTIONS=$((${TLS_IDLE:-0} + 1000))

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tidegate-clients.XXXXXX")
chmod 755 "$RUN_DIR"
SCRIPT=clients
RUN_DIR_NOTE="configs and logs"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
pin_setup

for tool in nginx haproxy $CLIENTS; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [[ -z ${TIDEGATE:-} ]]; then
    log "building tidegate (release)"
    (cd "$ROOT" && cargo build --release -q -p tidegate)
    TIDEGATE=${CARGO_TARGET_DIR:-$ROOT/target}/release/tidegate
fi
ulimit -n "$(ulimit -Hn)"

start_backend_nginx
render "$CONFIGS/tidegate.toml.tmpl" "$RUN_DIR/tidegate.toml" POLICY=least_conn \
    BACKENDS="\"${NGINX_BACKENDS[0]}\", \"${NGINX_BACKENDS[1]}\""
if [[ ${TLS:-0} == 1 ]]; then
    command -v openssl >/dev/null || die "openssl is not installed"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -keyout "$RUN_DIR/key.pem" -out "$RUN_DIR/cert.pem" 2>/dev/null
    cat "$RUN_DIR/cert.pem" "$RUN_DIR/key.pem" >"$RUN_DIR/haproxy.pem"
    sed -i "/^address = /a tls = { cert = \"$RUN_DIR/cert.pem\", key = \"$RUN_DIR/key.pem\" }" \
        "$RUN_DIR/tidegate.toml"
    HAPROXY_BIND_OPTIONS=" ssl crt $RUN_DIR/haproxy.pem alpn h2,http/1.1"
fi

# start_proxy NAME: sets PROXY_URL and PROXY_PID.
start_proxy() {
    case $1 in
    haproxy) start_haproxy haproxy "${NGINX_BACKENDS[@]}" ;;
    *)
        local binary=$TIDEGATE line
        [[ $1 == baseline ]] && binary=$BASELINE
        start "$1" "$binary" run -c "$RUN_DIR/tidegate.toml"
        PROXY_PID=$STARTED_PID
        line=$(wait_for_line "$PROXY_PID" "$RUN_DIR/$1.out" '^tidegate: listener .* on https?://' 60)
        PROXY_URL="${line##* on }/"
        ;;
    esac
}

# ab_run URL: requests per second; fails unless every answer was a 200 on a kept
# connection.
ab_run() {
    pinned ab -q -k -n 2000 -c "$CONCURRENCY" "$1" >/dev/null 2>&1 # warm-up
    local out
    out=$(pinned ab -q -k -n "$REQUESTS" -c "$CONCURRENCY" "$1" 2>&1) || die "ab failed: $out"
    [[ $(awk '/^Failed requests:/ { print $3 }' <<<"$out") == 0 ]] || die "failed requests: $out"
    [[ $(awk '/^Non-2xx responses:/ { print $3 }' <<<"$out") == "" ]] || die "non-2xx: $out"
    [[ $(awk '/^Keep-Alive requests:/ { print $3 }' <<<"$out") == "$REQUESTS" ]] ||
        die "not every request kept its connection: $out"
    awk '/^Requests per second:/ { print $4 }' <<<"$out"
}

# wrk_run URL: requests per second; fails on any socket error or non-2xx answer.
wrk_run() {
    local out
    pinned wrk -t1 -c "$CONCURRENCY" -d 1s "$1" >/dev/null 2>&1 # warm-up
    out=$(pinned wrk -t1 -c "$CONCURRENCY" -d "$DURATION" "$1" 2>&1) || die "wrk failed: $out"
    ! grep -qE '^ *(Socket errors|Non-2xx)' <<<"$out" || die "errors: $out"
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# h2load_run URL: requests per second over HTTP/2; fails on any failed request.
h2load_run() {
    local out
    [[ ${TLS:-0} == 1 ]] || die "h2load needs TLS=1"
    pinned h2load -t1 -c "$CONCURRENCY" -m1 -n 10000 "$1" >/dev/null 2>&1 # warm-up
    out=$(pinned h2load -t1 -c "$CONCURRENCY" -m1 -D "${DURATION%s}" "$1" 2>&1) ||
        die "h2load failed: $out"
    grep -q ' 0 failed, 0 errored, 0 timeout' <<<"$out" || die "errors: $out"
    grep -q '^Application protocol: h2' <<<"$out" || die "not HTTP/2: $out"
    awk '/^finished in/ { print $4 }' <<<"$out"
}

targets=(tidegate haproxy)
[[ -n ${BASELINE:-} ]] && targets=(tidegate baseline haproxy)
declare -A results
for client in $CLIENTS; do
    for ((round = 1; round <= ROUNDS; round++)); do
        for target in "${targets[@]}"; do
            start_proxy "$target"
            pin_to "$PROXY_CPU" "$PROXY_PID"
            rps=$("${client}_run" "$PROXY_URL")
            stop_process "$PROXY_PID"
            results[$client.$target]+="$rps "
            log "$client round $round: $target $rps req/s"
        done
    done
done

declare -A idle
if [[ -n ${TLS_IDLE:-} ]]; then
    [[ ${TLS:-0} == 1 ]] || die "TLS_IDLE needs TLS=1"
    for target in "${targets[@]}"; do
        start_proxy "$target"
        port=${PROXY_URL##*:}
        idle[$target]=$(python3 "$ROOT/benches/tls_idle.py" "${port%/}" "$TLS_IDLE" "$PROXY_PID") ||
            die "tls_idle.py failed against $target"
        stop_process "$PROXY_PID"
        log "idle TLS connections: $target ${idle[$target]}"
    done
fi

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
[[ -n $CLIENTS ]] && echo "| client | proxy | rounds (req/s) | median | of HAProxy |" &&
    echo "|---|---|---|---:|---:|"
for client in $CLIENTS; do
    haproxy_median=$(median "${results[$client.haproxy]}")
    for target in "${targets[@]}"; do
        m=$(median "${results[$client.$target]}")
        printf '| %s | %s | %s | %.0f | %.2fx |\n' "$client" "$target" \
            "$(printf '%.0f ' ${results[$client.$target]})" "$m" \
            "$(awk -v a="$m" -v b="$haproxy_median" 'BEGIN { print a / b }')"
    done
done
if [[ -n ${TLS_IDLE:-} ]]; then
    echo
    echo "| proxy | RSS idle MiB | RSS with $TLS_IDLE idle TLS connections MiB | KiB per connection | connections open |"
    echo "|---|---:|---:|---:|---:|"
    for target in "${targets[@]}"; do
        read -r before held per open <<<"${idle[$target]}"
        printf '| %s | %s | %s | %s | %s |\n' "$target" "$before" "$held" "$per" "$open"
    done
fi
