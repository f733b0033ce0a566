"""``python -m fake_nvml``: record a machine, serve a simulated node, list the catalog.

python -m fake_nvml record OUT.yaml              # read this machine through pynvml
python -m fake_nvml record OUT.yaml --sim 4xH100 # (or a simulated node, for checking)
python -m fake_nvml serve 4xH100 /tmp/n/nvml.sock
python -m fake_nvml products
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from fake_nvml.catalog import products
from fake_nvml.fake import FakeNVML
from fake_nvml.profile import ProfileError
from fake_nvml.record import record_node, write_profile


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
    serve = sub.add_parser("serve", help="serve a simulated node on a unix socket until interrupted")
    serve.add_argument("spec", help="shorthand such as 4xH100, or a node profile YAML")
    serve.add_argument("socket", help="unix socket path (under 107 bytes)")
    serve.add_argument("--seed", type=int, default=0)
    sub.add_parser("products", help="list the product catalog")
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
            write_profile(profile, args.out)
            print(f"recorded {len(profile['gpus'])} GPU(s) into {args.out}")
            return 0
        node = FakeNVML.from_spec(args.spec, seed=args.seed)
        server = node.serve(args.socket)
        print(f"serving {node!r} on {args.socket}; Ctrl-C stops", flush=True)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
        server.close()
        return 0
    except (ProfileError, ValueError, OSError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
