"""What service users wrote in the survey, and how many comments were withheld and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..format import Fragment, esc
from ..i18n import keys

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """What service users wrote in the survey: scrubbed of personal data when the table was built, never
    with who wrote it, none where few answered (:func:`evalkit.indicators.comments`)."""
    from ...indicators import COMMENTS_MIN_RESPONDENTS, COMMENTS_SHOWN

    texts = [c["text"] for c in report.data.meta.get("comments", [])
             if c["county_code"] == report.county_code and c["year"] == report.year]
    parts = [report._heading("comments")]
    if "survey" in report._gap_info():
        key = "missing.comments" + report._gap_info()["survey"][1]
        parts.append(f'<p class="missing"><strong>{esc(report.t(key, year=report.year))}</strong></p>')
    elif texts:
        parts.append(f"<p>{esc(report.t('comments.intro', n=len(texts)))}</p>")
        parts.append("<ul class=\"comments\">" + "".join(f"<li>{esc(text)}</li>" for text in texts) + "</ul>")
    else:
        parts.append(f"<p>{esc(report.t('comments.none'))}</p>")
    withheld = withheld_text(report)
    if withheld:
        parts.append(f'<p class="withheld">{esc(withheld)}</p>')
    parts.append(report._note("comments.note", most=COMMENTS_SHOWN, fewest=COMMENTS_MIN_RESPONDENTS))
    parts.append(report._note("comments.note_withheld"))
    if report.data.meta.get("comments_reviewed"):
        parts.append(report._note("comments.note_reviewed"))
    return Fragment("".join(parts))


def withheld_text(report: CountyReport) -> str:
    """How many of the county-wave's comments were withheld, and why, by category (never the text):
    ``3 comments withheld: 2 possible names, 1 possible phone number.``; empty when none was."""
    entry = next((w for w in report.data.meta.get("comments_withheld", [])
                  if w["county_code"] == report.county_code and int(w["year"]) == int(report.year)), None)
    if not entry or not entry.get("withheld"):
        return ""
    known = {k.split(".")[-1] for k in keys(report.lang) if k.startswith("comments.reason.")}
    merged: dict[str, int] = {}
    for reason, n in entry.get("reasons", {}).items():  # a kind without a text of its own is "other"
        key = reason if reason in known else "other"
        merged[key] = merged.get(key, 0) + int(n)
    items = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0] == "other", kv[0]))
    reasons = report.t("comments.separator").join(
        report.t(f"comments.reason_one.{k}") if n == 1 else report.t(f"comments.reason.{k}", n=n) for k, n in items)
    n = int(entry["withheld"])
    return report.t("comments.withheld_one", reasons=reasons) if n == 1 else report.t("comments.withheld", n=n,
                                                                                  reasons=reasons)
