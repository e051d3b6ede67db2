"""Fixtures: the real backend against the OpenLDAP lab, for tests of what the relay seals."""

from __future__ import annotations

__all__ = ["slapd_stack"]

from support.stacks import slapd_stack
