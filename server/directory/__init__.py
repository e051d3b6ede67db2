"""Directory adapters: one interface, an implementation per directory kind."""

from pwreset.server.directory.base import Directory, DirectoryError
from pwreset.server.directory.factory import open_directory

__all__ = ["Directory", "DirectoryError", "open_directory"]
