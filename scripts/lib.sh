# Shared by the check scripts (api-check.sh, aws-check.sh); source it from the
# repository root. CHECK names the calling check in messages.

# Prints the tidegate binary to check: TIDEGATE_BIN, else the newer of
# target/release/tidegate and target/debug/tidegate. Fails when it is missing.
tidegate_bin() {
    local bin=${TIDEGATE_BIN:-}
    if [ -z "$bin" ]; then
        bin=target/debug/tidegate
        if [ target/release/tidegate -nt "$bin" ]; then bin=target/release/tidegate; fi
    fi
    if [ ! -x "$bin" ]; then
        echo "$CHECK: $bin is missing: run cargo build -p tidegate first" >&2
        return 1
    fi
    echo "$bin"
}

# python_venv VENV PROGRAM PACKAGE: installs PACKAGE into the virtualenv VENV
# unless VENV/bin/PROGRAM is there already.
python_venv() {
    local venv=$1 program=$2 package=$3
    if [ ! -x "$venv/bin/$program" ]; then
        echo "$CHECK: installing $package into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$package"
    fi
}
