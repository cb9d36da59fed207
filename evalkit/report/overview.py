"""The province overview (all counties side by side) and the batch's index page.

``notebooks/province_overview.ipynb`` calls :class:`ProvinceOverview` section by section, as the
county report does; :func:`index_page` builds the rows of ``index.html`` from the manifest of a
batch run and the indicator table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__, registry
from ..indicators import catalogue
from . import figures
from .county import HEADLINE
from .data import ProvinceData, province_data
from .format import SUPPRESSED, Fragment, comparison_cell, esc, interval_text, table_html, value_text
from .i18n import LANGUAGES, t
from .i18n import catalogue as catalogue_texts

__all__ = ["ProvinceOverview", "index_page", "KEY_FIGURES"]

#: Figures shown for every county in the overview table and the index page: the registry's section "overview".
KEY_FIGURES = registry.pairs("overview")


def _key_rows(table: pd.DataFrame, level: str, year: int, confidence: float) -> pd.DataFrame:
    """One row per unit of ``level`` and key figure (all groups), at ``year`` and ``confidence``."""
    keep = np.zeros(len(table), dtype=bool)
    for indicator, item in KEY_FIGURES:
        keep |= ((table["indicator"] == indicator) & (table["item"] == item)).to_numpy()
    rows = table[keep & (table["level"] == level).to_numpy() & (table["year"] == year).to_numpy()
                 & (table["confidence"] == confidence).to_numpy() & (table["group"] == "all").to_numpy()]
    return rows.astype({"indicator": str})


@dataclass
class ProvinceOverview:
    """All counties of a province side by side, prefectures compared, and the spread of county figures."""

    data: ProvinceData
    year: int
    lang: str = "en"
    confidence: float = 0.95
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: str | Path, *, year: int, lang: str = "en", confidence: float = 0.95
             ) -> "ProvinceOverview":
        """Read (or reuse) the province's indicator table; check the year and language."""
        from ..paths import data_folder
        from .county import ReportParameterError

        if lang not in LANGUAGES:
            raise ReportParameterError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}.")
        data = province_data(data_folder(data_dir))
        if int(year) not in data.years:
            raise ReportParameterError(f"year {year} is not in the data (waves: {', '.join(map(str, data.years))}).")
        return cls(data, int(year), lang, float(confidence),
                   {"year": int(year), "lang": lang, "confidence": float(confidence)})

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def _name(self, indicator: str) -> str:
        return str(catalogue().loc[indicator, self.lang])

    def _short(self, indicator: str) -> str:
        """The indicator's short name for a column heading (its full name where it has none)."""
        try:
            return self.t("indicator_short." + indicator)
        except KeyError:
            return self._name(indicator)

    def _key_names(self) -> str:
        """A note giving the full name of each key figure whose column heading is a short name."""
        names = [(self._short(i), self._name(i)) for i, _ in KEY_FIGURES]
        names = [self.t("overview.key_name", short=short, full=full) for short, full in names if short != full]
        return f'<p class="note">{esc(self.t("overview.key_names", names=self.t("overview.key_sep").join(names)))}</p>'

    def _gaps(self) -> str:
        """The sentences saying which input tables have no row for the year (as in the county reports)."""
        out = []
        for name, latest in self.data.gaps(self.year).items():
            key = ("missing.survey_none" if latest is None else "missing.survey_short") if name == "survey" \
                else f"missing.{name}"
            out.append(f'<p class="missing"><strong>{esc(self.t(key, year=self.year, latest=latest))}</strong></p>')
        names = self.data.counties().set_index("county_code")[f"name_{self.lang}"]
        for name, by_county in sorted((self.data.meta.get("county_gaps") or {}).items()):
            lacking = [str(names.get(code, code)) for code, years in sorted(by_county.items()) if self.year in years]
            if lacking:
                sep = "、" if self.lang == "zh" else ", "
                out.append(f'<p class="missing"><strong>{esc(self.t(f"missing.overview_{name}", year=self.year, counties=sep.join(lacking)))}'
                           "</strong></p>")
        return "".join(out)

    def cover(self) -> Fragment:
        """Title and scope, and what the data lack for the year."""
        counties = self.data.counties()
        return Fragment(f'<header class="cover"><h1>{esc(self.t("overview.title", province=self.data.province_name(self.lang), year=self.year))}</h1>'
                        f'<p>{esc(self.t("overview.scope", counties=len(counties), prefectures=counties["prefecture_code"].nunique(), year=self.year))}</p>'
                        + self._gaps() +
                        "</header>")

    def counties(self) -> Fragment:
        """Every county's key figures, with the comparison with the province coloured."""
        rows = _key_rows(self.data.table, "county", self.year, self.confidence)
        names = self.data.unit_names("prefecture")[f"name_{self.lang}"]
        body = []
        for code, part in rows.groupby("code", sort=True):
            part = part.set_index("indicator")
            first = part.iloc[0]
            cells = [f"<td>{esc(code)}</td>", f'<td class="label">{esc(first[f"name_{self.lang}"])}</td>',
                     f'<td class="label">{esc(names.get(first["prefecture_code"], ""))}</td>']
            for indicator, _ in KEY_FIGURES:
                r = part.loc[indicator] if indicator in part.index else None
                unit = str(catalogue().loc[indicator, "unit"])
                cells.append(f'<td class="num">{esc(value_text(r["value"] if r is not None else None, unit, self.lang))}</td>')
                cells.append(comparison_cell(r["vs_province"] if r is not None else None, self.lang))
            body.append(cells)
        header = [self.t("index.code"), self.t("index.county"), self.t("index.prefecture")]
        for indicator, _ in KEY_FIGURES:
            header += [self._short(indicator), self.t("table.vs_province")]
        return Fragment(f'<h2 id="counties">{esc(self.t("overview.counties"))}</h2>' + table_html(header, body, raw=True)
                        + self._key_names()
                        + f'<p class="note">{esc(self.t("overview.comparison", confidence=self._conf()))}</p>')

    def _conf(self) -> str:
        return f"{self.confidence:.1%}".replace(".0%", "%")

    def prefectures(self) -> Fragment:
        """Prefectures compared: satisfaction with intervals (figure) and key figures (table)."""
        rows = _key_rows(self.data.table, "prefecture", self.year, self.confidence)
        sat = rows[rows["indicator"] == "satisfaction_rate"].sort_values("value")
        dots = pd.DataFrame({"label": sat[f"name_{self.lang}"].astype(str).to_numpy(),
                             "p_value": sat["value"].to_numpy(), "p_lower": sat["lower"].to_numpy(),
                             "p_upper": sat["upper"].to_numpy()})
        fig = figures.interval_dots(dots, label="label", series=[("p_", self.t("index.prefecture"), figures.PEER)],
                                    xlabel=self.t("figure.satisfaction_axis"))
        parts = [f'<h2 id="prefectures">{esc(self.t("overview.prefectures"))}</h2>',
                 figures.figure_html(fig, alt=self.t("overview.prefectures_alt"),
                                     caption=self.t("overview.prefectures_caption", confidence=self._conf()))]
        body = []
        for code, part in rows.groupby("code", sort=True):
            part = part.set_index("indicator")
            cells = [f'<td class="label">{esc(part.iloc[0][f"name_{self.lang}"])}</td>']
            for indicator, _ in KEY_FIGURES:
                r = part.loc[indicator] if indicator in part.index else None  # none: not in the data this year
                unit = str(catalogue().loc[indicator, "unit"])
                cells.append(f'<td class="num">{esc(value_text(r["value"] if r is not None else None, unit, self.lang))}</td>')
                cells.append(f'<td class="num">{esc(interval_text(r["lower"], r["upper"], unit, self.lang) if r is not None else SUPPRESSED)}</td>')
                cells.append(comparison_cell(r["vs_province"] if r is not None else None, self.lang))
            body.append(cells)
        header = [self.t("index.prefecture")]
        for indicator, _ in KEY_FIGURES:
            header += [self._short(indicator), self.t("table.interval", confidence=self._conf()),
                       self.t("table.vs_province")]
        parts.append(table_html(header, body, raw=True) + self._key_names())
        return Fragment("".join(parts))

    def distributions(self) -> Fragment:
        """How county figures spread: one small histogram per headline indicator."""
        tab = self.data.table
        panels = []
        for indicator, item in HEADLINE:
            rows = tab[(tab["level"] == "county") & (tab["year"] == self.year) & (tab["indicator"] == indicator)
                       & (tab["item"] == item) & (tab["group"] == "all") & (tab["confidence"] == self.confidence)
                       & ~tab["suppressed"]]
            unit = str(catalogue().loc[indicator, "unit"])
            scale = 100.0 if unit in ("proportion", "net") else 1.0
            panels.append((self._name(indicator), rows["value"].to_numpy(float) * scale))
        fig = figures.histograms(panels, ylabel=self.t("overview.counties_axis"))
        return Fragment(f'<h2 id="distributions">{esc(self.t("overview.distributions"))}</h2>'
                        + figures.figure_html(fig, alt=self.t("overview.distributions_alt"),
                                              caption=self.t("overview.distributions_caption", year=self.year)))

    def provenance(self) -> Fragment:
        """Data and code versions and parameters."""
        rows = [[self.t("provenance.dataset"), str(self.data.meta.get("dataset", ""))],
                [self.t("provenance.evalkit"), __version__]]
        rows += [[self.t("provenance.input", name=n), d[:16]] for n, d in sorted(self.data.meta.get("inputs", {}).items())]
        rows += [[self.t("provenance.parameter", name=k), str(v)] for k, v in self.parameters.items()]
        return Fragment(f'<h2 id="provenance">{esc(self.t("overview.provenance"))}</h2>'
                        + table_html([self.t("table.item"), self.t("table.value")], rows))


def index_page(data: ProvinceData, manifest: dict[str, Any], *, year: int, lang: str, keys: Sequence[str],
               run_dir: Path) -> dict[str, Any]:
    """What ``index.html`` of a batch run shows (every county with status, key figures and links to its files):
    the arguments of :func:`evalkit.render.index_html`, which the batch calls (render sits above report)."""
    from .index import IndexColumn, IndexEntry

    figures_ = _key_rows(data.table, "county", year, 0.95).set_index(["code", "indicator"])
    names = data.counties().set_index("county_code")
    prefectures = data.unit_names("prefecture")[f"name_{lang}"]
    reports = manifest.get("reports", {})
    short = catalogue_texts(lang)
    columns = [IndexColumn("grade", t("index.grade", lang)), IndexColumn("rank", t("index.rank", lang))]
    columns += [IndexColumn(ind, short.get(f"indicator_short.{ind}", str(catalogue().loc[ind, lang])))
                for ind, _ in KEY_FIGURES]
    scores = data.scores(year)
    grades = scores.framework.grade_frame().set_index("grade")[lang]
    graded = scores.counties.set_index("code")
    other = "zh" if lang == "en" else "en"
    entries = []
    for code in keys:
        entry = reports.get(code, {})
        if entry.get("status") == "ok":
            status = "skipped" if entry.get("last_run") == "skipped" else "ok"
        else:
            status = "failed" if entry else "missing"
        outputs = entry.get("outputs", {}) if status in ("ok", "skipped") else {}
        values = {"grade": (SUPPRESSED, None), "rank": (SUPPRESSED, None)}
        if code in graded.index and bool(graded.loc[code, "graded"]):
            g = graded.loc[code]
            values["grade"] = (f"{grades[g['grade']]} ({float(g['grade_probability']):.0%})", float(g["score"]))
            values["rank"] = (f"{int(g['rank'])} ({int(g['rank_lower'])}–{int(g['rank_upper'])})", float(g["rank"]))
        for ind, _ in KEY_FIGURES:
            v = figures_["value"].get((code, ind), np.nan)
            values[ind] = (value_text(v, str(catalogue().loc[ind, "unit"]), lang), None if pd.isna(v) else float(v))
        entries.append(IndexEntry(code, (str(names.loc[code, f"name_{lang}"]), str(names.loc[code, f"name_{other}"])),
                                  str(prefectures.get(names.loc[code, "prefecture_code"], "")), status, values,
                                  outputs.get("html", {}).get("file"), outputs.get("pdf", {}).get("file"),
                                  docx=outputs.get("docx", {}).get("file")))
    ov = reports.get("overview", {})
    overview_href = ov.get("outputs", {}).get("html", {}).get("file") if ov.get("status") == "ok" else None
    ov_files = ov.get("outputs", {}) if overview_href else {}
    overview_files = [(t(f"index.open_{kind}", lang), ov_files[kind]["file"]) for kind in ("pdf", "docx")
                      if kind in ov_files] if "docx" in ov_files else []  # with a Word file: the PDF and Word links
    return dict(entries=entries, columns=columns, lang=lang,
                title=t("index.title", lang, province=data.province_name(lang)),
                subtitle=t("index.subtitle_one" if len(entries) == 1 else "index.subtitle", lang, n=len(entries),
                           year=year),
                overview_href=overview_href, overview_files=overview_files, synthetic=data.synthetic)
