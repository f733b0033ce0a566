"""Our plugin's image, assembled from this machine's Python (no registry, no base image).

python -m harness.image build     # build it now (if its content changed) and print its reference
python -m harness.image key       # the content key, without building
"""

from harness.image.build import DEV_TAG, REPOSITORY, ensure, is_ours
from harness.image.rootfs import RootfsError

__all__ = ["DEV_TAG", "REPOSITORY", "RootfsError", "ensure", "is_ours"]
