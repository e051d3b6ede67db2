"""The one error the lab raises: something it needs is missing or did not come up."""

from __future__ import annotations


class LabError(RuntimeError):
    """A lab directory could not be installed, provisioned, started or stopped.

    The message says what failed and, where there is one, the command that fixes it.
    """
