"""The county report's sections, one module each, and the fixed lists of indicators they show.

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

__all__ = ["SECTIONS", "BENCHMARKS", "HEADLINE", "ITEMS"]

#: The sections of the county report, in order: module and method names.
SECTIONS = ("cover", "summary", "grade", "indicator_table", "satisfaction", "comments", "reach", "staffing",
            "trends", "among_counties", "recommendations", "methods", "data_quality", "provenance")

#: Benchmark levels a county can be compared with.
BENCHMARKS = ("prefecture", "province")
#: Indicators in the summary and the trends, as (indicator, item).
HEADLINE = (("satisfaction_rate", "q_overall"), ("coverage", "all"), ("home_visit_share", "all"),
            ("person_times_per_1000", "all"), ("social_workers_per_10k", "all"), ("certified_share", "all"))
#: Survey items (satisfaction dimensions), the overall item first.
ITEMS = ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect")
_STAFFING = ("station_coverage", "social_workers_per_station", "social_workers_per_10k", "certified_share",
             "professional_station_share", "volunteers_per_10k", "cost_per_person_time", "cost_per_person_served")
_TOWNSHIP = (("station_coverage", "all"), ("coverage", "all"), ("home_visit_share", "all"),
             ("person_times_per_1000", "all"), ("satisfaction_rate", "q_overall"))
