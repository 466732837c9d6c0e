"""The exported test nets of `tests.saliency_nets`, as fixtures of these tests."""

from tests.saliency_nets import exported_nets, exported_task_nets  # noqa: F401 (fixtures)
