"""``python -m fake_nvml ctl --socket PATH COMMAND ...``: change a served node while it runs.

The commands are the fault catalogue's (fake_nvml/injections.py): each fault's own value is the
positional argument and its modifiers are options, so ``ctl xid 79 --gpu gpu2`` is the scenario
step ``inject: {xid: 79, gpu: gpu2}``. ``status`` lists the GPUs and what is injected.
Bad arguments get one line on stderr and exit status 2; a node that does not answer, 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import pynvml

from fake_nvml.client import NvmlClient
from fake_nvml.injections import FAULTS, Fault, Param


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _converter(param: Param) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return param.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _add_param(parser: argparse.ArgumentParser, param: Param, positional: bool) -> None:
    help_text = param.help + ("" if param.required else f" (default: {param.default})")
    if positional:
        parser.add_argument(param.name, type=_converter(param), help=help_text, metavar=param.name.upper())
    else:
        parser.add_argument(
            f"--{param.name}", type=_converter(param), required=param.required, help=help_text, default=None
        )


def parser(prog: str = "python -m fake_nvml ctl") -> argparse.ArgumentParser:
    top = _OneLineParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--socket", required=True, help="the node's unix socket (as given to serve)")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    commands.add_parser("status", help="the GPUs of the node and the faults injected now")
    for fault in FAULTS:
        sub = commands.add_parser(fault.command, help=fault.summary)
        _add_param(sub, fault.value, positional=True)
        for param in fault.modifiers:
            _add_param(sub, param, positional=False)
    return top


def _fault_of(command: str) -> Fault:
    return next(f for f in FAULTS if f.command == command)


def _print_status(status: dict[str, Any]) -> None:
    for gpu in status["gpus"]:
        flags = [name for name in ("lost", "hidden") if gpu.get(name)]
        print(
            f"gpu{gpu['index']}  {gpu['uuid']}  {gpu['name']}  {gpu['pci_bus_id']}"
            + (f"  [{', '.join(flags)}]" if flags else "")
        )
        for mig in gpu.get("mig_devices", []):
            print(f"  mig{mig['index']}  {mig['uuid']}  {mig['profile']}  gi {mig['gi']} ci {mig['ci']}")
    faults = status["faults"]
    for function, failure in faults["failing"].items():
        left = "always" if failure["remaining"] is None else f"{failure['remaining']} more"
        print(f"failing: {function} -> {pynvml.NVMLError(failure['error'])} ({left})")
    for function, seconds in faults["latency"].items():
        print(f"latency: {function} +{seconds} s")
    if faults["init_failure"] is not None:
        print(f"init fails: {pynvml.NVMLError(faults['init_failure'])}")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        client = NvmlClient(args.socket)
    except (ConnectionError, OSError) as exc:
        print(f"ctl: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "status":
            _print_status(client.status())
            return 0
        fault = _fault_of(args.command)
        values = {p.name: getattr(args, p.name) for p in fault.params}
        result = client.inject(fault.name, **{k: v for k, v in values.items() if v is not None})
        outcome = (
            f" (reached {result} event set{'s' if result != 1 else ''})" if isinstance(result, int) else ""
        )
        print(f"{fault.name}: {fault.title(values)}{outcome}")
        return 0
    except pynvml.NVMLError as exc:
        detail = getattr(exc, "detail", "") or str(exc)
        print(f"ctl: the node refused {args.command}: {detail}", file=sys.stderr)
        return 1 if getattr(exc, "unreachable", False) else 2
    finally:
        client.close()
