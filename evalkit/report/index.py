"""The rows of a batch's index page: one :class:`IndexEntry` per county, one :class:`IndexColumn` per key figure.

The report layer fills them from the indicator table and the manifest; :func:`evalkit.render.index_html`
lays them out (they are re-exported there).  Moved verbatim from ``render.py`` (issue 17) so that the
report layer builds the rows without importing the render layer above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["IndexColumn", "IndexEntry"]


@dataclass(frozen=True)
class IndexColumn:
    """One indicator column of the index page.

    Attributes
    ----------
    key : str
        Key of the column's values in :attr:`IndexEntry.values`.
    label : str
        Column header, in the page's language.
    """

    key: str
    label: str


@dataclass(frozen=True)
class IndexEntry:
    """One county on the index page.

    Attributes
    ----------
    code : str
        County code (``"430102"``).
    names : tuple of str
        The county's name in the page's language first, then any other names (shown smaller);
        the search box matches all of them.
    prefecture : str
        The prefecture's name.
    status : str
        ``"ok"`` (rendered), ``"skipped"`` (unchanged since the last run), ``"failed"`` or
        ``"missing"`` (not run).
    values : mapping of str to (str, float or None)
        Per :attr:`IndexColumn.key`: the text to show and the number to sort by (``None`` for a
        suppressed or missing value, which sorts last).  A key left out shows as a dash.
    html, pdf : str or None
        Relative links to the county's report and PDF (``"430102.html"``), or ``None``.
    province : str or None
        The province's name, on a national index (every province's counties on one page); ``None``
        on a province's own index, which then has no province column.
    docx : str or None
        Relative link to the county's Word file (``"430102.docx"``), or ``None``; the index has a Word
        column when any county has one.
    """

    code: str
    names: tuple[str, ...]
    prefecture: str
    status: str
    values: Mapping[str, tuple[str, float | None]] = field(default_factory=dict)
    html: str | None = None
    pdf: str | None = None
    province: str | None = None
    docx: str | None = None
