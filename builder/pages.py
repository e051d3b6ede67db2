"""Which pages a site gets: the menu, one page per enabled flow that has a template, and
the critical-error page.

Flows are data: a flow added to the schema shows up once some layer provides `<flow>.html`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

MENU = "index"
# The critical-error page (the original product's error template): not a menu entry.
ERROR = "error"


@dataclass(frozen=True)
class Page:
    """One output page; `flow` is None for the menu."""

    name: str
    flow: str | None

    @property
    def template(self) -> str:
        return f"{self.name}.html"

    @property
    def output(self) -> str:
        return f"{self.name}.html"

    @property
    def href(self) -> str:
        """The link to this page from another page of the same site."""
        return self.output


def site_pages(
    vdir: str, flows: Sequence[str], has_template: Callable[[str], bool]
) -> tuple[Page, ...]:
    """The menu first, then the enabled flows in the site's own order (the menu's order),
    then the error page when some layer has one."""
    pages = [Page(MENU, None)]
    for flow in flows:
        page = Page(flow, flow)
        if has_template(page.template):
            pages.append(page)
        else:
            log.warning(
                "site %r: flow %r is enabled but no layer has %s; it is left out",
                vdir,
                flow,
                page.template,
            )
    error = Page(ERROR, None)
    if has_template(error.template):
        pages.append(error)
    return tuple(pages)
