#!/usr/bin/env bash
# The real-GPU check of issue 19 in one script, for a machine with a real NVIDIA GPU and no network
# (docs/nightly.md, "Verifying on a GPU machine"). It only reads NVML and changes no GPU setting.
#
#   tools/gpu_night_check.sh prepare          # here, with a network: fill .night/ (carried along)
#   tools/gpu_night_check.sh run [OUT]        # on the GPU machine: every step below, into OUT
#   tools/gpu_night_check.sh run --dry-run    # rehearse it anywhere: the shipped section-F H100
#                                             # recording is served through the NVML shim as the
#                                             # machine's libnvidia-ml.so.1
#
# Steps (each time-limited, each one's exit status in OUT/SUMMARY.md; a failed step does not stop
# the others):
#   1. preflight: the smoke check, NVML required             -> preflight.txt
#   2. probe: every property a plugin reads, one event wait   -> nvml-probe.json
#   3. record: the node profile, and an anonymized copy       -> node-profile.yaml, node-profile.anonymized.yaml
#   4. library: dp-harness nightly run (--nvml real)          -> nightly/<node>/latest/, pass/skip/fail counts
#   5. compare: our plugin and NVIDIA's v0.20 on real NVML, field by field (dp-harness diff over the
#      registration and allocate cases; NVIDIA's in a private mount namespace, so root) -> diff.txt, diff/
#
# OUT defaults to $OUT (the device tool's folder that comes back), else /tmp/gpu-night-check-<time>.
# NVIDIA_PLUGIN names NVIDIA's binary (default .night/bin/nvidia-device-plugin, then
# /work/ext/bin/nvidia-device-plugin). PYTHON the interpreter (default .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
NIGHT="$REPO/.night"
DEPS=(jinja2 markupsafe inotify_simple)  # what a bare GPU machine's Python lacks (domain facts F)

prepare() {
    mkdir -p "$NIGHT/wheels" "$NIGHT/bin"
    # Wheels for the GPU machine's CPython 3.12 on x86-64 (grpcio, protobuf, PyYAML and
    # nvidia-ml-py are there already). PY_VERSION overrides the version.
    rm -f "$NIGHT"/wheels/*.whl
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
        --implementation cp --platform manylinux2014_x86_64 --dest "$NIGHT/wheels" "${DEPS[@]}"
    local plugin="${NVIDIA_PLUGIN:-/work/ext/bin/nvidia-device-plugin}"
    if [[ -x "$plugin" ]]; then cp "$plugin" "$NIGHT/bin/nvidia-device-plugin"; fi
    echo "prepared $NIGHT: $(ls "$NIGHT/wheels" | tr '\n' ' ')$(ls "$NIGHT/bin" 2>/dev/null | tr '\n' ' ')"
    echo "on the GPU machine: tools/gpu_night_check.sh run   (carry .night)"
}

python_for_run() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; elif [[ -x "$REPO/.venv/bin/python" ]]; then
        echo "$REPO/.venv/bin/python"; else command -v python3; fi
}

step() {  # step NAME SECONDS COMMAND... : run it with a deadline, log it, remember its status
    local name="$1" limit="$2"
    shift 2
    local started=$SECONDS
    echo "== $name (limit ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 5 "$OUT/$name.log"
    STEPS+=("| $name | $rc | $((SECONDS - started)) s |")
    return $rc
}

run() {
    local dry=0
    if [[ "${1:-}" == "--dry-run" ]]; then dry=1; shift; fi
    OUT="${1:-${OUT:-/tmp/gpu-night-check-$(date +%Y%m%dT%H%M%S)}}"
    mkdir -p "$OUT"
    PY="$(python_for_run)"
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
    if ! "$PY" -c 'import jinja2, inotify_simple' 2>/dev/null; then
        if ls "$NIGHT"/wheels/*.whl > /dev/null 2>&1; then
            "$PY" -m pip install --quiet --no-index --no-deps --target "$NIGHT/deps" "$NIGHT"/wheels/*.whl
            export PYTHONPATH="$PYTHONPATH:$NIGHT/deps"
        else
            echo "missing ${DEPS[*]} and no $NIGHT/wheels: run 'tools/gpu_night_check.sh prepare' where pip works"
        fi
    fi
    local server=""
    if (( dry )); then
        local sock
        sock="$(mktemp -d /tmp/gnc.XXXXXX)/nvml.sock"
        "$PY" -m fake_nvml serve scenarios/_nodes/h100-80gb-hbm3-vm.yaml --socket "$sock" > "$OUT/shim.env" 2> "$OUT/shim.log" &
        server=$!
        for _ in $(seq 100); do [[ -s "$OUT/shim.env" ]] && break; sleep 0.1; done
        # shellcheck disable=SC1091
        . "$OUT/shim.env"  # LD_LIBRARY_PATH: the shim is this process tree's libnvidia-ml.so.1
        echo "dry run: NVML is the shim serving scenarios/_nodes/h100-80gb-hbm3-vm.yaml" | tee "$OUT/DRY-RUN"
    fi
    STEPS=()
    local node
    node="$(hostname)"
    {
        echo "host $node, $(uname -r), $("$PY" --version 2>&1)"
        command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    } > "$OUT/machine.txt" 2>&1
    step preflight 120 "$PY" -m harness nightly preflight --results "$OUT"
    cp "$OUT/preflight.log" "$OUT/preflight.txt"
    step probe 60 "$PY" tools/nvml_probe.py && cp "$OUT/probe.log" "$OUT/nvml-probe.json"
    step record 60 "$PY" -m fake_nvml record "$OUT/node-profile.yaml"
    "$PY" -m fake_nvml record "$OUT/node-profile.anonymized.yaml" --anonymize > /dev/null 2>&1
    step library 420 "$PY" -m harness nightly run --results "$OUT/nightly" --node-name "$node" -n auto
    local plugin="${NVIDIA_PLUGIN:-}"
    [[ -z "$plugin" && -x "$NIGHT/bin/nvidia-device-plugin" ]] && plugin="$NIGHT/bin/nvidia-device-plugin"
    [[ -z "$plugin" && -x /work/ext/bin/nvidia-device-plugin ]] && plugin=/work/ext/bin/nvidia-device-plugin
    if [[ -n "$plugin" && "$(id -u)" == 0 ]]; then
        step compare 300 "$PY" -m harness diff scenarios/registration scenarios/allocate --nvml real -n auto \
            --plugin-a ours --plugin-b "$plugin --kubelet-socket {kubelet_socket}" --launcher-b namespace \
            --reports-dir "$OUT/diff"
        cp "$OUT/compare.log" "$OUT/diff.txt"
    else
        STEPS+=("| compare | skipped | needs NVIDIA's binary (NVIDIA_PLUGIN) and root (got '${plugin:-none}', uid $(id -u)) |")
    fi
    [[ -n "$server" ]] && kill "$server" 2> /dev/null
    summary "$node" > "$OUT/SUMMARY.md"
    cat "$OUT/SUMMARY.md"
}

summary() {
    echo "# GPU night check on $1 ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    [[ -f "$OUT/DRY-RUN" ]] && echo && echo "**Dry run**: $(cat "$OUT/DRY-RUN")"
    echo
    echo "| step | exit | time |"
    echo "|---|---|---|"
    printf '%s\n' "${STEPS[@]}"
    echo
    local summary_json
    summary_json="$(ls -t "$OUT"/nightly/*/latest/nightly.json 2> /dev/null | head -1)"
    if [[ -n "$summary_json" ]]; then
        echo "Library on real NVML: $("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join(f"{n} {s}" for s, n in sorted(d.get("counts", {}).items())), "- exit", d["exit"], "-", d.get("gpus"), d.get("driver"))' "$summary_json")"
        grep -A 12 "grouped by reason" "$OUT/library.log" | head -14 | sed 's/^/    /'
    fi
    [[ -f "$OUT/diff.txt" ]] && echo && echo "Compare: $(grep -E 'differences in|alike' "$OUT/diff.txt" | tail -1)"
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
esac
