"""The builder's one exception family: what failed, for which site, in which file and line."""

from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """A build that cannot go on; nothing of the failing site has been written.

    `code` is stable (for the CLI and tests to branch on); `reason` is the human part.
    `site`, `theme`, `file` and `line` say where, when known, so a designer can jump straight
    to the template line or catalogue entry at fault.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        site: str | None = None,
        theme: str | None = None,
        file: Path | None = None,
        line: int | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.site = site
        self.theme = theme
        self.file = file
        self.line = line
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts: list[str] = []
        if self.site is not None:
            parts.append(f"site {self.site!r}")
        if self.theme is not None:
            parts.append(f"theme {self.theme!r}")
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line else str(self.file))
        return ": ".join([*parts, self.reason])

    def for_site(self, site: str) -> BuildError:
        """The same error with the site filled in, for code that builds one site's parts."""
        if self.site is not None:
            return self
        return BuildError(
            self.code, self.reason, site=site, theme=self.theme, file=self.file, line=self.line
        )
