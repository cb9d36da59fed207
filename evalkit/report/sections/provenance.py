"""Provenance: data version, code version, parameters and time, enough to make the report again."""

from __future__ import annotations

import datetime as _dt
import os
from typing import TYPE_CHECKING

from ... import __version__
from ..format import Fragment, table_html

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Data version, code version, parameters and time: enough to make this report again."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
            else _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    rows = [[report.t("provenance.dataset"), str(report.data.meta.get("dataset", ""))],
            [report.t("provenance.evalkit"), __version__]]
    rows += [[report.t("provenance.input", name=name), digest[:16]]
             for name, digest in sorted(report.data.meta.get("inputs", {}).items())]
    rows += [[report.t("provenance.parameter", name=k), str(v)] for k, v in report.parameters.items()
             if k != "data_dir"]
    rows.append([report.t("provenance.made"), when])
    return Fragment(report._heading("provenance") + table_html([report.t("table.item"), report.t("table.value")], rows)
                    + report._note("provenance.hashes"))
