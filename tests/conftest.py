"""Fixtures shared by every test directory."""

import os

# Lava's message infrastructure calls multiprocessing.set_start_method("fork")
# when it is imported, and that call fails once any start method is fixed.
# Importing it before any test runs keeps later Lava imports from depending on
# test order.
# NOTE: a program that fixes the start method before it first imports Lava
# gets the same "context has already been set" error from Lava itself.
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
import pytest


@pytest.fixture
def fail_rename_to(monkeypatch):
    """Return a function that makes each rename onto a file of a given name fail.

    The failure is the ``OSError`` a full disk gives, raised by ``os.replace``,
    which every atomic write in the package uses to put a file in place.
    """
    real_replace = os.replace

    def install(name):
        def replace(src, dst):
            if os.path.basename(dst) == name:
                raise OSError("no space left on device")
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)

    return install
