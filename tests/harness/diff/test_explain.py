"""Each difference of ours against NVIDIA's plugin gets its cause; a new one stays unexplained."""

from __future__ import annotations

from pathlib import Path

from harness.diff.compare import Difference
from harness.diff.explain import BEGIN, END, explain, main, section

G0, G3 = "GPU-e1d05b88-35a6-7e67-4b48-828506854b05", "GPU-56adba83-fe9b-80dd-7ea6-91377ad63efc"


def d(case: str, aspect: str, a: str, b: str, step: str = "step 2: admit pod p1") -> Difference:
    return Difference(case, step, aspect, a, b)


def causes(*diffs: Difference) -> list[str]:
    (explained,) = explain([(diffs[0].case, list(diffs))])
    return [key for _, key in explained.differences]


def test_the_whole_gpu_pick_and_what_follows_from_it_are_one_deliberate_cause() -> None:
    assert causes(
        d("c", "GetPreferredAllocation p1/main", f'["{G0}"]', f'["{G3}"]'),
        d("c", "Allocate p1/main envs", f'{{"NVIDIA_VISIBLE_DEVICES": "{G0}"}}', f'{{"X": "{G3}"}}'),
    ) == ["gpu-choice", "gpu-choice"]
    assert causes(d("c", "GetPreferredAllocation p1/main", f'["{G0}::0"]', f'["{G0}::2"]')) == [
        "replica-choice"
    ]


def test_a_verdict_and_the_steps_a_stopped_run_skipped_take_the_cases_leading_cause() -> None:
    assert causes(
        d("c", "case", "passed", "failed at step 2 (admit)", step="verdict"),
        d("c", "kubelet contract violation", "-", "response_time: GetPreferredAllocation took 1.2s"),
        d("c", "GetPreferredAllocation p1/main", f'["{G0}"]', f'["{G3}"]'),
        d("c", "step ran", "yes", "no", step="step 3: start container"),
    ) == ["shim-round-trips", "shim-round-trips", "gpu-choice", "shim-round-trips"]


def test_the_same_ids_in_another_order_several_updates_for_one_and_exit_codes() -> None:
    assert causes(d("c", "call Allocate", '{"V": "0,3"}', '{"V": "3,0"}')) == ["id-order"]
    one = f'["{G0} Unhealthy", "{G3} Unhealthy"]'
    many = f'[["{G0} Unhealthy", "{G3} Healthy"], ["{G0} Unhealthy", "{G3} Unhealthy"]]'
    assert causes(d("c", "devices nvidia.com/gpu", one, many)) == ["one-update"]
    assert causes(d("c", "plugin exit code", "2", "1", step="start")) == ["exit-code-2"]


def test_a_difference_no_rule_names_is_unexplained_and_counted_so() -> None:
    diffs = [d("c", "PreStart p1/main", "{}", '{"x": 1}')]
    assert causes(*diffs) == ["unexplained"]
    text = section(explain([("c", diffs), ("same", [])]), 1.0, "dp-harness diff x")
    assert "2 cases compared, 1 alike, 1 differing (1 differences" in text
    assert "| `unexplained` | to judge |" in text and "dp-harness diff x" in text


def test_the_section_is_written_between_its_markers(tmp_path: Path) -> None:
    doc = tmp_path / "plugin.md"
    doc.write_text(f"# head\n{BEGIN}\nold\n{END}\ntail\n", encoding="utf-8")
    (tmp_path / "r" / "a").mkdir(parents=True)
    (tmp_path / "r" / "b").mkdir()
    assert main([str(tmp_path / "r"), "--write", str(doc), "--command", "cmd"]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# head\n") and text.endswith(f"{END}\ntail\n") and "old" not in text
    assert "0 cases compared" in text


def test_a_fault_on_another_device_is_the_pick_but_a_missed_fault_is_not() -> None:
    picked = d(
        "c",
        "devices nvidia.com/gpu",
        f'["{G0} Unhealthy", "{G3} Healthy"]',
        f'["{G0} Healthy", "{G3} Unhealthy"]',
    )
    missed = d("c", "devices nvidia.com/gpu", f'["{G0} Unhealthy"]', f'["{G0} Healthy"]')
    assert causes(picked) == ["gpu-choice"]
    assert causes(missed) == ["unexplained"]
