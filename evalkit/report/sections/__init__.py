"""The county report's sections, one module each, and the lists of indicators they show (from the registry).

:data:`SECTIONS` is the order of the report: each name is a module here whose ``render(report)`` returns
the section as a :class:`~evalkit.report.format.Fragment`, and a method of
:class:`~evalkit.report.county.CountyReport` of the same name (``report.summary()``), which is what
``notebooks/county_report.ipynb`` calls.  A section formats, words and draws the rows of the indicator
table and the framework's scores that the report selected; it computes no statistic.

To add a section: write ``<name>.py`` with ``render(report) -> Fragment``, add ``<name>`` to
:data:`SECTIONS` where it belongs, its heading ``section.<name>`` to both catalogues
(``report/locale/*.toml``), and a cell ``report.<name>()`` to the notebook.
"""

from __future__ import annotations

from ... import registry

__all__ = ["SECTIONS", "BENCHMARKS", "HEADLINE", "ITEMS"]

#: The sections of the county report, in order: module and method names.
SECTIONS = ("cover", "summary", "grade", "indicator_table", "satisfaction", "comments", "reach", "staffing",
            "inspections", "trends", "among_counties", "recommendations", "methods", "data_quality", "provenance")

#: Benchmark levels a county can be compared with.
BENCHMARKS = ("prefecture", "province")
#: Indicators in the summary and the trends, as (indicator, item): the registry's section "summary".
HEADLINE = registry.pairs("summary")
#: Survey items (satisfaction dimensions), the overall item first.
ITEMS = ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect")
STAFFING = registry.names(section="staffing")
TOWNSHIP = registry.pairs("reach")
