#!/usr/bin/env bash
# The real-GPU check of issue 19 in one script, for a machine with a real NVIDIA GPU and no network
# (docs/nightly.md, "Verifying on a GPU machine"). It only reads NVML and changes no GPU setting.
#
#   tools/gpu_night_check.sh prepare                 # here, with a network: fill .night/ (carried along)
#   tools/gpu_night_check.sh run [--budget S] [OUT]  # on the GPU machine: every step below
#   tools/gpu_night_check.sh run --dry-run [OUT]     # rehearse it anywhere: the shipped section-F H100
#                                                    # recording is served through the NVML shim as
#                                                    # the machine's libnvidia-ml.so.1
#
# Steps (each one's exit status and time in SUMMARY.md; a failed step does not stop the others):
#   1. preflight: the smoke check, NVML required             -> preflight.txt
#   2. probe: every property a plugin reads, one event wait   -> nvml-probe.json
#   3. record: the node profile, and an anonymized copy       -> node-profile.yaml, node-profile.anonymized.yaml
#   4. library: dp-harness nightly run (--nvml real)          -> library.log (pass/skip/fail, skips by reason)
#   5. compare: our plugin and NVIDIA's v0.20 on real NVML, field by field (dp-harness diff over the
#      registration and allocate cases; NVIDIA's in a private mount namespace, so root) -> diff.txt
# Without usable NVML, steps 4 and 5 are not run: there is nothing to measure.
#
# Time: the whole run ends within --budget seconds (default 300, or $NIGHT_BUDGET): each step has
# its own cap and never runs past what is left (15 s are kept to pack the results). Give the device
# call a timeout_s of the budget + 60. Expected: about 2 minutes on 2 busy cores (the dry run).
#
# What it writes: OUT holds at most 8 files, flat (what the device tool brings back): SUMMARY.md,
# preflight.txt, nvml-probe.json, node-profile.yaml, node-profile.anonymized.yaml, library.log,
# diff.txt and results.tar.gz (everything: the reports, junit, allure results, every step's log).
# The work folder is $NIGHT_WORK (default /tmp/gpu-night-check-work-<time>).
# OUT defaults to $OUT (the device tool's folder that comes back), else /tmp/gpu-night-check-<time>.
#
# Exit status: 0 every step did its job and every case passed (differences between the plugins
# are findings, in diff.txt); 1 a step failed or a case failed; 2 the machine cannot run it (no
# usable NVML: one line says why).
#
# NVIDIA_PLUGIN names NVIDIA's binary (default .night/bin/nvidia-device-plugin, then
# /work/ext/bin/nvidia-device-plugin). PYTHON the interpreter (default .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
NIGHT="$REPO/.night"
# What a nightly run imports, as wheel pins, with the module and the least version it needs. The
# run installs (from .night/wheels, into the work folder) only those the machine lacks or has too
# old: the H100 VM of domain facts F lacked jinja2, markupsafe and inotify_simple.
WHEELS=(
    "jinja2==3.1.6 jinja2 3.1"
    "markupsafe==3.0.4 markupsafe 2.0"
    "inotify_simple==2.0.1 inotify_simple 1.3"
    "grpcio==1.84.0 grpc 1.84.0"
    "protobuf==7.36.2 google.protobuf 7.35.1"
    "pyyaml==6.0.4 yaml 6.0"
    "nvidia-ml-py==13.615.71 pynvml 0"
)

prepare() {
    mkdir -p "$NIGHT/wheels" "$NIGHT/bin"
    rm -f "$NIGHT"/wheels/*.whl
    local pins=() entry
    for entry in "${WHEELS[@]}"; do pins+=("${entry%% *}"); done
    # For the GPU machine's CPython (3.12 on x86-64 in domain facts F and on the H200 machines);
    # PY_VERSION overrides the version.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
        --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --dest "$NIGHT/wheels" "${pins[@]}" || return 1
    local plugin="${NVIDIA_PLUGIN:-/work/ext/bin/nvidia-device-plugin}"
    if [[ -x "$plugin" ]]; then cp "$plugin" "$NIGHT/bin/nvidia-device-plugin"; fi
    echo "prepared $NIGHT ($(du -sh "$NIGHT" | cut -f1)): $(ls "$NIGHT/wheels" | tr '\n' ' ')$(ls "$NIGHT/bin" 2>/dev/null | tr '\n' ' ')"
    echo "on the GPU machine: tools/gpu_night_check.sh run   (carry .night; timeout_s = budget + 60)"
}

python_for_run() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; elif [[ -x "$REPO/.venv/bin/python" ]]; then
        echo "$REPO/.venv/bin/python"; else command -v python3; fi
}

missing_wheels() {  # the carried wheels for modules this Python lacks or has too old
    local entry
    for entry in "${WHEELS[@]}"; do
        # shellcheck disable=SC2086
        set -- $entry
        "$PY" - "$2" "$3" 2>/dev/null <<'PY' || echo "$1"
import importlib, importlib.metadata as md, sys
module, least = sys.argv[1], sys.argv[2]
importlib.import_module(module)
dist = {"grpc": "grpcio", "google.protobuf": "protobuf", "yaml": "PyYAML", "pynvml": "nvidia-ml-py"}.get(module, module)
have = tuple(int(p) for p in md.version(dist).split(".")[:3] if p.isdigit())
sys.exit(0 if have >= tuple(int(p) for p in least.split(".")) else 1)
PY
    done
}

install_deps() {
    local need=() pin file
    mapfile -t need < <(missing_wheels)
    (( ${#need[@]} )) || return 0
    local files=()
    for pin in "${need[@]}"; do
        file="$(find "$NIGHT/wheels" -maxdepth 1 -iname "$(echo "${pin%%==*}" | tr '-' '_')-${pin##*==}-*.whl" 2>/dev/null | head -1)"
        if [[ -z "$file" ]]; then
            echo "missing ${pin%%==*} and no wheel for it in $NIGHT/wheels: run 'tools/gpu_night_check.sh prepare' where pip works"
            continue
        fi
        files+=("$file")
    done
    (( ${#files[@]} )) || return 0
    echo "installing ${need[*]} from $NIGHT/wheels into $WORK/deps"
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --target "$WORK/deps" "${files[@]}" \
        && export PYTHONPATH="$WORK/deps:$PYTHONPATH"
}

find_nvml() {  # make libnvidia-ml.so.1 loadable when the driver's folder is not on the loader's path
    "$PY" -c 'import pynvml; pynvml.nvmlInit()' 2>/dev/null && return 0
    local dir
    for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 \
        $(ldconfig -p 2>/dev/null | awk '/libnvidia-ml.so.1/ {print $NF}' | xargs -r -n1 dirname); do
        if [[ -e "$dir/libnvidia-ml.so.1" ]]; then
            export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            echo "libnvidia-ml.so.1 found in $dir (added to LD_LIBRARY_PATH)"
            return 0
        fi
    done
}

nvml_problem() {  # '' when NVML answers, else one line saying why not
    "$PY" - 2>&1 <<'PY'
try:
    import pynvml

    pynvml.nvmlInit()
    pynvml.nvmlDeviceGetCount()
except Exception as exc:  # a missing library, a driver that does not answer, no GPU
    print(f"{type(exc).__name__}: {exc}")
PY
}

step() {  # step NAME CAP COMMAND... : run it within its cap and the budget left; log it, note it
    local name="$1" cap="$2"
    shift 2
    local left=$((DEADLINE - SECONDS - 15))
    local limit=$((cap < left ? cap : left))
    if ((limit < 5)); then
        echo "== $name: not run, the budget is spent"
        STEPS+=("| $name | not run | the ${BUDGET} s budget was spent |")
        FAILED=1
        return 1
    fi
    local started=$SECONDS
    echo "== $name (limit ${limit}s)"
    timeout --kill-after=5 "$limit" "$@" > "$WORK/$name.log" 2>&1
    local rc=$?
    tail -n 5 "$WORK/$name.log"
    local note=""
    ((rc == 124 || rc == 137)) && note=" (stopped at its ${limit} s limit)"
    STEPS+=("| $name | $rc | $((SECONDS - started)) s$note |")
    # ALLOW: exit statuses that are findings, not failures (dp-harness diff's 1: the plugins differ).
    [[ " ${ALLOW:-0} " == *" $rc "* ]] || FAILED=1
    return $rc
}

run() {
    local dry=0
    BUDGET="${NIGHT_BUDGET:-300}"
    while (($#)); do
        case "$1" in
            --dry-run) dry=1 ;;
            --budget) BUDGET="$2"; shift ;;
            *) break ;;
        esac
        shift
    done
    DEADLINE=$((SECONDS + BUDGET))
    OUT="${1:-${OUT:-/tmp/gpu-night-check-$(date +%Y%m%dT%H%M%S)}}"
    WORK="${NIGHT_WORK:-/tmp/gpu-night-check-work-$(date +%Y%m%dT%H%M%S)}"
    mkdir -p "$OUT" "$WORK"
    PY="$(python_for_run)"
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
    install_deps
    local server=""
    if ((dry)); then
        local sock
        sock="$(mktemp -d /tmp/gnc.XXXXXX)/nvml.sock"
        "$PY" -m fake_nvml serve scenarios/_nodes/h100-80gb-hbm3-vm.yaml --socket "$sock" > "$WORK/shim.env" 2> "$WORK/shim.log" &
        server=$!
        for _ in $(seq 100); do [[ -s "$WORK/shim.env" ]] && break; sleep 0.1; done
        # shellcheck disable=SC1091
        . "$WORK/shim.env"  # LD_LIBRARY_PATH: the shim is this process tree's libnvidia-ml.so.1
        echo "dry run: NVML is the shim serving scenarios/_nodes/h100-80gb-hbm3-vm.yaml" | tee "$WORK/DRY-RUN"
    else
        find_nvml
    fi
    STEPS=()
    FAILED=0
    local node
    node="$(hostname 2> /dev/null || cat /proc/sys/kernel/hostname)"
    {
        echo "host $node, $(uname -r), $("$PY" --version 2>&1) at $PY, budget ${BUDGET} s"
        command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    } > "$WORK/machine.txt" 2>&1
    local problem
    problem="$(nvml_problem)"
    step preflight 45 "$PY" -m harness nightly preflight --results "$WORK"
    cp "$WORK/preflight.log" "$WORK/preflight.txt"
    step probe 20 "$PY" tools/nvml_probe.py
    cp "$WORK/probe.log" "$WORK/nvml-probe.json"
    step record 20 "$PY" -m fake_nvml record "$WORK/node-profile.yaml"
    step record-anonymized 20 "$PY" -m fake_nvml record "$WORK/node-profile.anonymized.yaml" --anonymize
    if [[ -n "$problem" ]]; then
        STEPS+=("| library | not run | no usable NVML: $problem |" "| compare | not run | no usable NVML |")
    else
        step library 150 "$PY" -m harness nightly run --results "$WORK/nightly" --node-name "$node" -n auto
        compare
    fi
    [[ -n "$server" ]] && kill "$server" 2> /dev/null
    summary "$node" "$problem" > "$WORK/SUMMARY.md"
    pack
    cat "$OUT/SUMMARY.md"
    if [[ -n "$problem" ]]; then
        echo "gpu_night_check: no usable NVML on $node ($problem): nothing measured; run it on a GPU machine (exit 2)"
        return 2
    fi
    return $FAILED
}

compare() {
    local plugin="${NVIDIA_PLUGIN:-}"
    [[ -z "$plugin" && -x "$NIGHT/bin/nvidia-device-plugin" ]] && plugin="$NIGHT/bin/nvidia-device-plugin"
    [[ -z "$plugin" && -x /work/ext/bin/nvidia-device-plugin ]] && plugin=/work/ext/bin/nvidia-device-plugin
    if [[ -z "$plugin" || "$(id -u)" != 0 ]]; then
        STEPS+=("| compare | not run | needs NVIDIA's binary (NVIDIA_PLUGIN, .night/bin) and root (got '${plugin:-none}', uid $(id -u)) |")
        return
    fi
    ALLOW="0 1" step compare 120 "$PY" -m harness diff scenarios/registration scenarios/allocate --nvml real -n auto \
        --plugin-a ours --plugin-b "$plugin --kubelet-socket {kubelet_socket}" --launcher-b namespace \
        --reports-dir "$WORK/diff"
    cp "$WORK/compare.log" "$WORK/diff.txt"
}

summary() {
    echo "# GPU night check on $1 ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    [[ -f "$WORK/DRY-RUN" ]] && echo && echo "**Dry run**: $(cat "$WORK/DRY-RUN")"
    [[ -n "$2" ]] && echo && echo "**No usable NVML** ($2): the library and the comparison were not run."
    echo
    sed 's/^/    /' "$WORK/machine.txt"
    echo
    echo "| step | exit | time |"
    echo "|---|---|---|"
    printf '%s\n' "${STEPS[@]}"
    local summary_json
    summary_json="$(ls -t "$WORK"/nightly/*/latest/nightly.json 2> /dev/null | head -1)"
    if [[ -n "$summary_json" ]]; then
        echo
        echo "Library on real NVML: $("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d.get("counts") or {}; print((", ".join(f"{n} {s}" for s, n in sorted(c.items())) or "no case ran"), "- exit", d["exit"], "-", d.get("gpus") or "no GPUs read", d.get("driver") or "")' "$summary_json")"
        grep -A 12 "grouped by reason" "$WORK/library.log" | head -14 | sed 's/^/    /'
    fi
    [[ -f "$WORK/diff.txt" ]] && echo && echo "Compare: $(grep -E 'differences in|alike' "$WORK/diff.txt" | tail -1)"
}

pack() {  # OUT gets at most 8 flat files; everything else goes into results.tar.gz
    local f
    cp "$WORK/SUMMARY.md" "$OUT/"
    for f in preflight.txt nvml-probe.json node-profile.yaml node-profile.anonymized.yaml library.log diff.txt; do
        [[ -f "$WORK/$f" ]] && cp "$WORK/$f" "$OUT/"
    done
    tar -czf "$OUT/results.tar.gz" -C "$(dirname "$WORK")" --exclude=deps "$(basename "$WORK")" 2> /dev/null
    if (($(stat -c %s "$OUT/results.tar.gz") > 15 * 1024 * 1024)); then
        # Over what comes back (16 MiB a file): keep the reports' summaries, not every case's folder.
        tar -czf "$OUT/results.tar.gz" -C "$(dirname "$WORK")" --exclude=deps --exclude='*/events.json' \
            "$(basename "$WORK")" 2> /dev/null
    fi
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) sed -n '2,38p' "$0"; exit 2 ;;
esac
