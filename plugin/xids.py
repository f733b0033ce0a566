"""Which XIDs make a device unhealthy: NVIDIA's defaults and its two environment variables.

Semantics of k8s-device-plugin v0.18+ (parsed as comma separated, case-insensitive tokens):
``DP_DISABLE_HEALTHCHECKS``: ``all`` or ``xids`` (or ``0``, which NVIDIA stores the same way)
switches health checking off entirely; numbers are extra XIDs to ignore; anything else is ignored.
``DP_ENABLE_HEALTHCHECKS``: numbers are XIDs that count even when ignored by default or disabled;
``all``/``xids`` makes every XID count and also undoes ``DP_DISABLE_HEALTHCHECKS=all``. As in NVIDIA's
code, ``DP_DISABLE_HEALTHCHECKS=all`` still wins over an enable list of numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# "Application" XIDs that say nothing about the GPU itself (109 since NVIDIA v0.17.1).
DEFAULT_IGNORED_XIDS: frozenset[int] = frozenset({13, 31, 43, 45, 68, 109})
DISABLE_ENV = "DP_DISABLE_HEALTHCHECKS"
ENABLE_ENV = "DP_ENABLE_HEALTHCHECKS"


@dataclass(frozen=True)
class HealthChecks:
    disabled: bool = False
    ignored: frozenset[int] = field(default_factory=lambda: DEFAULT_IGNORED_XIDS)
    enabled: frozenset[int] = frozenset()
    enable_all: bool = False

    def is_critical(self, xid: int) -> bool:
        """Does this XID make the device unhealthy?"""
        if self.enable_all or xid in self.enabled:
            return True
        return xid not in self.ignored


def _tokens(value: str) -> tuple[set[str], set[int]]:
    words: set[str] = set()
    numbers: set[int] = set()
    for token in value.split(","):
        token = token.strip().lower()
        if not token:
            continue
        if token.isdigit():
            numbers.add(int(token))
        else:
            words.add(token)
    return words, numbers


# Tokens meaning "every XID". NVIDIA stores them under XID 0, so a literal 0 means the same.
_ALL = frozenset({"all", "xids", "0"})


def health_checks_from_env(env: Mapping[str, str]) -> HealthChecks:
    disable_words, disable_numbers = _tokens(env.get(DISABLE_ENV, ""))
    enable_words, enable_numbers = _tokens(env.get(ENABLE_ENV, ""))
    disable_all = bool((disable_words | {str(n) for n in disable_numbers}) & _ALL)
    enable_all = bool((enable_words | {str(n) for n in enable_numbers}) & _ALL)
    return HealthChecks(
        # Only the "every XID" entry decides whether the checker runs: enabling all re-enables it,
        # an enable list of numbers does not (NVIDIA's IsAllDisabled inspects that entry alone).
        disabled=disable_all and not enable_all,
        ignored=DEFAULT_IGNORED_XIDS | frozenset(disable_numbers - {0}),
        enabled=frozenset(enable_numbers - {0}),
        enable_all=enable_all,
    )
