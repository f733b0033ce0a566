"""IMEX channels: which of the configured channels exist, as NVIDIA's v0.20 decides (internal/imex).

Only ``[]`` or ``[0]`` are valid channel ids (checked with the config). A channel is the character
device ``/dev/nvidia-caps-imex-channels/channel<N>``; it is looked for under the plugin's own dev
root (``--driver-root-ctr-path`` when that has a ``dev`` folder, else ``/``) and at its plain path.
A channel that does not exist is skipped with a warning, or fails the start with ``--imex-required``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from plugin.errors import InitError

CHANNEL_DIR = "/dev/nvidia-caps-imex-channels"


@dataclass(frozen=True)
class Channel:
    id: str
    path: str  # in the container
    host_path: str  # where the plugin sees it (under its own dev root)


def check_channel_ids(ids: tuple[int, ...]) -> str | None:
    """NVIDIA's AssertChannelIDsValid: an error message, or None when valid."""
    if not ids or ids == (0,):
        return None
    shown = "[" + " ".join(str(i) for i in ids) + "]"  # Go's %v of a []int
    return f"invalid IMEX channel IDs: invalid IMEX config: channelIDs must be [] or [0]; found {shown}"


def _is_char_device(path: str) -> tuple[bool, str]:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False, ""
    except OSError as exc:
        return False, f"{path}: {exc.strerror}"
    if not stat.S_ISCHR(mode):
        return False, f"{path} is not a character device"
    return True, ""


def get_channels(ids: tuple[int, ...], required: bool, dev_root: str, warnings: list[str]) -> list[Channel]:
    channels = []
    for channel_id in ids:
        name = f"channel{channel_id}"
        path = f"{CHANNEL_DIR}/{name}"
        channel = Channel(str(channel_id), path, os.path.join(dev_root, path.lstrip("/")))
        errors = []
        found = False
        for candidate in dict.fromkeys((channel.host_path, channel.path)):
            ok, error = _is_char_device(candidate)
            if ok:
                found = True
                break
            if error:
                errors.append(error)
        if not found:
            why = "; ".join(errors)
            if required:
                cause = f"{why}: " if why else ""
                raise InitError(
                    f"error querying IMEX channels: {cause}requested IMEX channel {name} does not exist"
                )
            warnings.append(f"Ignoring requested IMEX channel {name} ({why or 'not found'})")
            continue
        channels.append(channel)
    return channels
