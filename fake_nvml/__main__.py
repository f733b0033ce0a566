"""``python -m fake_nvml``: record a machine, serve a simulated node, change it, list the catalog.

python -m fake_nvml record OUT.yaml              # read this machine through pynvml
python -m fake_nvml record OUT.yaml --sim 4xH100 # (or a simulated node, for checking)
python -m fake_nvml record OUT.yaml --anonymize  # placeholder UUIDs and serials, to share or commit
python -m fake_nvml serve 4xH100 --socket /tmp/n/nvml.sock   # prints the export lines first
python -m fake_nvml ctl --socket /tmp/n/nvml.sock xid 79 --gpu gpu2
python -m fake_nvml products
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sys
import threading
import time
from typing import Any

from fake_nvml import ctl, shim
from fake_nvml.catalog import products
from fake_nvml.fake import FakeNVML
from fake_nvml.profile import ProfileError
from fake_nvml.record import anonymize, record_node, write_profile


def _source(args: argparse.Namespace) -> Any:
    if args.sim:
        return FakeNVML.from_spec(args.sim, seed=args.seed)
    if args.connect:
        return FakeNVML.connect(args.connect)
    import pynvml

    return pynvml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fake_nvml", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="write a node profile of this machine (read through pynvml)")
    rec.add_argument("out", help="node profile YAML to write")
    rec.add_argument("--sim", help="record a simulated node instead (shorthand or profile)")
    rec.add_argument("--connect", help="record the node served on this unix socket")
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument(
        "--anonymize",
        action="store_true",
        help="replace GPU and MIG UUIDs and serials by placeholders of the same shape (to share or commit)",
    )
    serve = sub.add_parser("serve", help="serve a simulated node on a unix socket until interrupted")
    serve.add_argument("spec", help="shorthand such as 4xH100, or a node profile YAML")
    serve.add_argument("--socket", required=True, help="unix socket path (under 107 bytes)")
    serve.add_argument("--seed", type=int, default=0)
    sub.add_parser("ctl", help="change a served node (python -m fake_nvml ctl --help)", add_help=False)
    sub.add_parser("products", help="list the product catalog")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:
        return ctl.main(argv[1:])
    args = parser.parse_args(argv)

    try:
        if args.command == "products":
            for p in products():
                mig = ", ".join(f"{m.name}x{m.instance_count}" for m in p.mig_profiles) or "no MIG"
                print(
                    f"{p.key:<16} {p.name:<24} {p.memory_mib:>6} MiB  cc {p.cuda_cc[0]}.{p.cuda_cc[1]}  {mig}"
                )
            return 0
        if args.command == "record":
            nvml = _source(args)
            try:
                profile = record_node(nvml)
            except nvml.NVMLError as exc:
                print(f"cannot read this machine through NVML: {exc} (code {exc.value})", file=sys.stderr)
                return 1
            if args.anonymize:
                profile = anonymize(profile, args.seed)
            note = f"recorded on {platform.node()} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}"
            write_profile(
                profile, args.out, note + (" (UUIDs and serials anonymized)" if args.anonymize else "")
            )
            print(f"recorded {len(profile['gpus'])} GPU(s) into {args.out}")
            return 0
        return _serve(args)
    except (ProfileError, ValueError, OSError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM (or Ctrl-C), after printing what a process needs to use the shim."""
    node = FakeNVML.from_spec(args.spec, seed=args.seed)
    server = node.serve(args.socket)
    try:
        exports = shim.environment(os.path.abspath(args.socket))
    except shim.ShimUnavailable as exc:
        print(f"warning: {exc}; only FakeNVML.connect clients can use this node", file=sys.stderr)
        exports = {shim.SOCKET_ENV: os.path.abspath(args.socket)}
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    sys.stdout.flush()
    print(f"serving {node!r} on {args.socket}; SIGTERM or Ctrl-C stops", file=sys.stderr, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    server.close()
    node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
