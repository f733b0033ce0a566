"""A simulated NVML with pynvml's surface (see issue 3 and docs/architecture.md).

``FakeNVML.from_spec("4xH100")`` builds a node whose attributes mirror the ``pynvml``
module, so plugin code written for ``import pynvml`` runs unchanged on it; the node also
takes faults (XIDs, lost GPUs, failing calls) on a simkit clock, serves itself on a unix
socket (``serve`` / ``FakeNVML.connect``), and records/replays real machines.
"""

from fake_nvml.api import surface_functions
from fake_nvml.catalog import MigProfile, Product, product, products
from fake_nvml.client import NvmlClient
from fake_nvml.events import NOT_ATTRIBUTABLE, EventData
from fake_nvml.fake import INJECTIONS, FakeNVML
from fake_nvml.node import DeviceHandle, MigDeviceInfo, NodeGpu
from fake_nvml.overlay import OverlayNVML, SimulationRequired
from fake_nvml.profile import NodeProfile, ProfileError
from fake_nvml.record import record_node
from fake_nvml.server import NodeServer

__all__ = [
    "INJECTIONS",
    "NOT_ATTRIBUTABLE",
    "DeviceHandle",
    "EventData",
    "FakeNVML",
    "MigDeviceInfo",
    "MigProfile",
    "NodeGpu",
    "NodeProfile",
    "NodeServer",
    "NvmlClient",
    "OverlayNVML",
    "Product",
    "ProfileError",
    "SimulationRequired",
    "product",
    "products",
    "record_node",
    "surface_functions",
]
