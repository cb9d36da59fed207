"""The cover: title, scope and the reading guide."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..format import SUPPRESSED, Fragment, esc

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Title, scope and the reading guide."""
    c = report._county
    respondents = report._row(c, "satisfaction_rate", "q_overall")
    stations = report._row(c, "station_coverage")
    scope = report.t("cover.scope", townships=int(stations["denominator"]) if stations is not None else 0,
                   stations=int(stations["n"]) if stations is not None and not pd.isna(stations["n"])
                   else SUPPRESSED,
                   respondents=int(respondents["n"]) if respondents is not None and not respondents["suppressed"]
                   else SUPPRESSED, year=report.year)
    return Fragment(
        f'<header class="cover"><p class="kicker">{esc(report.t("cover.kicker"))}</p>'
        f'<h1>{esc(report.t("cover.title", county=report.county_name, year=report.year))}</h1>'
        f'<p class="subtitle">{esc(report.t("cover.where", county=report.county_name, code=report.county_code, prefecture=report.prefecture_name, province=report.province_name))}</p>'
        f"<p>{esc(scope)}</p>"
        f'<p class="note">{esc(report.t("cover.reading", confidence=f"{report.confidence:.1%}".replace(".0%", "%")))}</p>'
        "</header>")
