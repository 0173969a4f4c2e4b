#!/usr/bin/env bash
# Checks the admin API against its own OpenAPI document with schemathesis: every
# check (status codes, response schemas, content types and headers, no 5xx,
# auth, negative data, unsupported methods) on every operation.
#
# Starts two `tidegate backend`s and `tidegate run` with an admin token, all on
# 127.0.0.1 with port 0, and stops them when done. Uses the newer of
# target/release/tidegate and target/debug/tidegate (TIDEGATE_BIN overrides), and a
# virtualenv under target/ for schemathesis. API_CHECK_EXAMPLES sets how many
# cases each operation gets (default 100), API_CHECK_SEED the random seed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/api-check-venv
examples=${API_CHECK_EXAMPLES:-100}
token="api-check-$$-$RANDOM"

CHECK=api-check
. scripts/lib.sh
bin=$(tidegate_bin)
python_venv "$venv" schemathesis schemathesis

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Prints the http:// address announced on a line of $1 containing $2, waiting up to 30 s.
announced() {
    local file=$1 marker=$2 line
    for _ in $(seq 300); do
        line=$(grep -m1 -- "$marker" "$file" 2>/dev/null || true)
        if [ -n "$line" ]; then
            echo "${line##*http://}"
            return 0
        fi
        sleep 0.1
    done
    echo "api-check: no \"$marker\" in $file" >&2
    cat "$file" "${file%.out}.err" >&2
    return 1
}

backends=()
for i in 1 2; do
    "$bin" backend --port 0 --region "eu-west" >"$work/backend$i.out" 2>"$work/backend$i.err" &
    pids+=($!)
    backends+=("$(announced "$work/backend$i.out" "listening on")")
done

cat >"$work/tidegate.toml" <<EOF
[admin]
address = "127.0.0.1:0"
token = "$token"

[[listener]]
address = "127.0.0.1:0"

[[route]]
path_prefix = "/regional"
pool = "regional"

[[route]]
path_prefix = "/scaled"
pool = "scaled"

[[route]]
pool = "web"

[pool.web]
policy = "least_conn"
backends = ["${backends[0]}", "${backends[1]}"]

[pool.regional]
policy = "region_affinity"
backends = [{ address = "${backends[0]}", region = "eu-west" }]

[pool.scaled]
backends = ["${backends[1]}"]

[pool.scaled.scaler]
driver = "fixed"
min = 1
max = 2
predictive = { enabled = true, seasons = ["1h"], history = "1d" }

[driver.fixed]
kind = "static"

[forecast]
device = "cpu"
EOF

"$bin" run -c "$work/tidegate.toml" >"$work/tidegate.out" 2>"$work/tidegate.err" &
pids+=($!)
admin=$(announced "$work/tidegate.out" "tidegate: admin on")

echo "api-check: $bin, admin API on http://$admin" >&2
# From a file, so schemathesis also tests the route that serves the document.
curl --silent --show-error --fail --header "Authorization: Bearer $token" \
    "http://$admin/api/v1/openapi.json" >"$work/openapi.json"
"$venv/bin/schemathesis" --config-file scripts/api-check.toml run "$work/openapi.json" \
    --url "http://$admin" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --max-examples "$examples" \
    --seed "${API_CHECK_SEED:-20261123}" \
    --no-color \
    --report-dir "$work/report"
