"""The fault catalogue is the one list of faults: the node, the overlay and ctl all follow it."""

from __future__ import annotations

import inspect

import pytest

from fake_nvml import FakeNVML, OverlayNVML, SimulationRequired
from fake_nvml.ctl import parser
from fake_nvml.fake import INJECTIONS
from fake_nvml.injections import FAULTS, REQUIRED, fault

# One valid set of arguments per fault, as a scenario or ctl would give them.
EXAMPLES = {
    "xid": {"xid": 79, "gpu": 2},
    "ecc": {"ecc": "double", "gpu": 1},
    "gpu_lost": {"gpu_lost": 3},
    "recover": {"recover": 3},
    "hide": {"hide": 0},
    "unhide": {"unhide": 0},
    "events_unsupported": {"events_unsupported": 1},
    "nvml_error": {"nvml_error": "nvmlDeviceGetUUID", "error": "GPU_IS_LOST", "count": 0},
    "latency": {"latency": "nvmlDeviceGetName", "seconds": 0.5},
    "init_failure": {"init_failure": "driver_not_loaded"},
    "enable_mig": {"enable_mig": 0, "profiles": ["3g.40gb"]},
    "disable_mig": {"disable_mig": 0},
    "clear_faults": {"clear_faults": "all"},
}


def test_the_examples_cover_the_catalogue() -> None:
    assert set(EXAMPLES) == {f.name for f in FAULTS}


@pytest.mark.parametrize("name", [f.name for f in FAULTS])
def test_each_fault_applies_to_a_node_through_its_method(name: str, node: FakeNVML, log) -> None:
    entry = fault(name)
    if name in ("recover", "unhide"):
        node.lose_gpu(3)
        node.hide_gpu(0)
    if name == "disable_mig":
        node.enable_mig(0, ["3g.40gb"])
    before = log.last_seq
    entry.apply(node, EXAMPLES[name])
    assert log.events(source="node", since=before), f"{name} left no node event"
    assert entry.title(EXAMPLES[name])


def test_the_node_schedules_exactly_the_catalogues_methods() -> None:
    assert INJECTIONS == tuple(f.method for f in FAULTS)
    for f in FAULTS:
        assert callable(getattr(FakeNVML, f.method))


def test_a_modifier_means_the_same_in_every_fault_that_takes_it() -> None:
    seen = {}
    for f in FAULTS:
        for p in f.modifiers:
            assert seen.setdefault(p.name, (p.kind, p.default is REQUIRED)) == (p.kind, p.default is REQUIRED)


def test_missing_and_unknown_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="'xid' needs 'gpu'"):
        fault("xid").complete({"xid": 79})
    with pytest.raises(ValueError, match="'seconds' does not apply to 'xid'"):
        fault("xid").complete({"xid": 79, "gpu": 0, "seconds": 1})
    with pytest.raises(ValueError, match="unknown fault 'xdi'"):
        fault("xdi")


def test_the_overlay_carries_real_faults_and_refuses_the_rest_with_the_reason(node: FakeNVML) -> None:
    overlay = OverlayNVML(node, clock=node.clock)
    for f in FAULTS:
        method = getattr(overlay, f.method)
        if f.real:
            assert f.method in vars(OverlayNVML) and "refuse" not in method.__qualname__
            f.apply(overlay, EXAMPLES[f.name])
        else:
            with pytest.raises(SimulationRequired, match=f"{f.method} needs a simulated node"):
                f.apply(overlay, EXAMPLES[f.name])


def test_ctl_has_one_command_per_fault() -> None:
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {"status", *(f.command for f in FAULTS)}
    assert {"xid", "ecc", "lose", "recover", "fail"} <= set(commands)


def test_the_method_signatures_take_what_the_catalogue_passes() -> None:
    for f in FAULTS:
        signature = inspect.signature(getattr(FakeNVML, f.method))
        signature.bind(None, **f.to_method(f.complete(EXAMPLES[f.name])))


def test_the_protocol_docs_carry_the_current_catalogue() -> None:
    from pathlib import Path

    from fake_nvml.injections import TABLE_BEGIN, TABLE_END, markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "nvml-protocol.md").read_text(encoding="utf-8")
    start, stop = text.index(TABLE_BEGIN), text.index(TABLE_END) + len(TABLE_END)
    assert text[start:stop] == markdown(), "regenerate the table: fake_nvml.injections.markdown()"
