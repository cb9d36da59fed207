"""The privacy audit (``make audit``): render a province with a generated corpus of personal data planted
in its survey comments, and prove that none of it reaches a published page, and that the scan would
have caught it, per category.

The corpus (:mod:`evalkit.planting`) holds at least 500 synthetic values of 17 categories (names with
and without a roster entry, spaced and in pinyin; mobiles, landlines and phones in Chinese numerals;
identity numbers; WeChat and QQ ids; licence plates; bank cards; e-mail written with full-width or
Chinese punctuation, ``at`` and ``点``; street, village-group, estate and English addresses), each in
varied spacing, width and punctuation.  Then:

0. **Corpus recall**: every planted value is scanned in the sentence it was planted in (the sentence
   without the value must give no finding, so the finding is the value's).
1. **Normal** (comments scrubbed and withheld when unsure, outputs scanned before publishing): the
   batch succeeds; the scan finds nothing in any published file (HTML, PDF, executed notebook, index,
   overview, manifest), and no planted value is there either, looked for literally (full-width folded,
   white space ignored, so a value is found however a page wraps it): zero leaks.
2. **Scrubbing and withholding off** (``EVALKIT_UNSAFE_NO_SCRUB``: :func:`evalkit.privacy.assess`
   returns every text unchanged and publishable): the batch's own scan stops every report whose
   comments carry planted data it recognises; none of their files is published.
3. **Scrubbing, withholding and the batch's scan off** (``EVALKIT_UNSAFE_NO_SCAN`` too): the planted
   values that reached a page are on it, and a separate scan of the outputs must find them (found as
   :meth:`evalkit.planting.Planted.missing` decides, as ``evalkit scan --planted`` does: a finding is
   the value, or the county's page gives fewer findings without it).

Every category must reach a recall of at least 99% (:data:`THRESHOLD`) in the corpus and on the pages
of run 3; run 1 must leak nothing.  The summary gives recall per category and the comments withheld
per county (of run 1's indicator table); ``--markdown FILE`` writes them as tables for
``docs/robustness.md``.  Each run writes under ``WORK``; nothing touches ``reports/``.  The exit
status is 1 when any expectation fails.
"""

from __future__ import annotations

import html as _html
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["THRESHOLD", "AuditResult", "CategoryResult", "run_audit", "published_text"]

#: The least share of planted values of each category the scan must find.
THRESHOLD = 0.99


@dataclass
class CategoryResult:
    """One category of planted values through the audit."""

    category: str
    kind: str
    planted: int = 0
    #: found by the scan in the sentence they were planted in
    corpus_found: int = 0
    #: on a page of run 3 (scrubbing, withholding and the batch's scan off)
    reached: int = 0
    #: of those, found by the scan of run 3's outputs
    page_found: int = 0
    #: on a published page of run 1 (the normal run): must be 0
    leaked: int = 0
    #: forms (``plain``, ``fullwidth``, ...) the corpus scan missed, with how many
    missed_forms: dict[str, int] = field(default_factory=dict)

    @property
    def corpus_recall(self) -> float:
        return self.corpus_found / self.planted if self.planted else float("nan")

    @property
    def page_recall(self) -> float:
        return self.page_found / self.reached if self.reached else float("nan")


@dataclass
class AuditResult:
    """What each run of the audit showed; ``ok`` when every expectation held."""

    planted: int = 0
    reached: int = 0
    leaks: int = 0
    literal_leaks: int = 0
    gated: list[str] = field(default_factory=list)
    published_gated: list[str] = field(default_factory=list)
    found: int = 0
    missed: list[str] = field(default_factory=list)
    categories: dict[str, CategoryResult] = field(default_factory=dict)
    withheld: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def markdown(self) -> str:
        """Recall per category and comments withheld per county, as Markdown tables."""
        out = ["| category | kind | planted | scan recall, corpus | reached a page (run 3) | scan recall, pages "
               "| on a published page (run 1) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for c in self.categories.values():
            out.append(f"| `{c.category}` | {c.kind} | {c.planted} | {c.corpus_found} ({_pct(c.corpus_recall)}) "
                       f"| {c.reached} | {c.page_found} ({_pct(c.page_recall)}) | {c.leaked} |")
        total = list(self.categories.values())
        if total:
            planted, found = sum(c.planted for c in total), sum(c.corpus_found for c in total)
            reached, pfound = sum(c.reached for c in total), sum(c.page_found for c in total)
            out.append(f"| all | | {planted} | {found} ({_pct(found / planted if planted else float('nan'))}) "
                       f"| {reached} | {pfound} ({_pct(pfound / reached if reached else float('nan'))}) "
                       f"| {sum(c.leaked for c in total)} |")
        out += ["", "| county | wave | comments withheld | by reason (a comment counts under each of its reasons) |",
                "| --- | ---: | ---: | --- |"]
        for w in self.withheld:
            reasons = ", ".join(f"{k} {v}" for k, v in w["reasons"].items())
            out.append(f"| {w['county_code']} | {w['year']} | {w['withheld']} | {reasons} |")
        if not self.withheld:
            out.append("| (none) | | 0 | |")
        return "\n".join(out) + "\n"


def _batch(data: Path, out: Path, extra: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalkit.cli", "batch", str(data), "--out", str(out), "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})


def _strings(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.append(str(k))
            _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)


def published_text(path: Path) -> str:
    """Everything a reader (or a program) could read in a published file, as one string: an HTML file
    unescaped (text, attributes, scripts); a notebook or JSON file's strings, decoded; a PDF's text
    (PDFium) and metadata; any other file as text."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path.read_bytes())
        try:
            parts = [str(v) for v in pdf.get_metadata_dict().values()]
            for n in range(len(pdf)):
                page = pdf[n]
                tp = page.get_textpage()
                parts.append(tp.get_text_range())
                tp.close()
                page.close()
        finally:
            pdf.close()
        return "\n".join(parts)
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if suffix in (".ipynb", ".json"):
        try:
            parts: list[str] = []
            _strings(json.loads(raw), parts)
            return raw + "\n" + "\n".join(parts)
        except ValueError:
            return raw
    if suffix in (".html", ".htm", ".svg", ".xml", ".xhtml"):
        return _html.unescape(raw)
    return raw


_PUBLISHED = (".html", ".htm", ".svg", ".xml", ".xhtml", ".ipynb", ".pdf", ".json", ".txt", ".md", ".csv", ".tsv",
              ".js")


def _needle(value: str) -> re.Pattern:
    """A value as looked for literally in normalised text: not inside a longer run of digits."""
    from .planting import normalise

    v = normalise(value)
    return re.compile(("(?<![0-9])" if v[:1].isdigit() else "") + re.escape(v) + ("(?![0-9])" if v[-1:].isdigit() else ""))


def _literal_hits(folder: Path, values: Iterable[Any]) -> dict[Any, list[str]]:
    """Planted values found literally in any published file under ``folder``: value -> file names."""
    from .planting import normalise

    texts = {str(p.relative_to(folder)): normalise(published_text(p))
             for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in _PUBLISHED}
    hits: dict[Any, list[str]] = {}
    for v in values:
        needle = _needle(v.value)
        where = [name for name, text in texts.items() if needle.search(text)]
        if where:
            hits[v] = where
    return hits


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def run_audit(data_dir: str | Path, work: str | Path, *, seed: int = 1, batch_args: Sequence[str] = (),
              n: int | None = None, threshold: float = THRESHOLD, markdown: str | Path | None = None,
              log=print) -> AuditResult:
    """Run the corpus scan and the three batches described in the module docstring over a planted copy
    of ``data_dir``.

    Parameters
    ----------
    data_dir : path
        The province to audit (a planted copy is made; it is not changed).
    work : path
        An empty (or missing) folder for the copy, the runs and their outputs.
    seed : int
        Seed of the planted values.
    batch_args : sequence of str
        Options for every ``evalkit batch`` run (``--jobs 1``, ``--prefecture 0901``).
    n : int, optional
        The least number of planted values (default :data:`evalkit.planting.MIN_VALUES`).
    threshold : float
        The least recall per category.
    markdown : path, optional
        Also write the recall and withheld tables there (:meth:`AuditResult.markdown`).
    log : callable
        Where progress lines go.
    """
    from .indicators import comment_selection
    from .planting import CATEGORIES, MIN_VALUES, Planted, normalise, plant
    from .privacy import scanner_for
    from .schema import load_province

    work = Path(work).resolve()  # kernels run in notebooks/: every path they are given is absolute
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty: the audit needs a fresh folder")
    res = AuditResult()
    data = work / "data"
    planted: Planted = plant(data_dir, data, seed, n=n or MIN_VALUES)
    res.planted = len(planted.values)
    groups = planted.by_category()
    res.categories = {c: CategoryResult(c, CATEGORIES[c], planted=len(vs)) for c, vs in groups.items()}
    log(f"audit: planted {res.planted} values of {len(groups)} categories in {len(planted.comments)} comments "
        f"of {len(planted.counties())} counties ({planted.year} wave): {data}")
    cache = {"EVALKIT_CACHE": str(work / "cache")}
    scanner = scanner_for(data)

    # 0. the corpus: each value in its own sentence; the sentence without it must give no finding
    noisy = set()
    for v in planted.values:
        control = v.carrier.replace("{v}", "")
        if control not in noisy and scanner.text(control):
            noisy.add(control)
        hit = bool(scanner.text(v.sentence())) and control not in noisy
        c = res.categories[v.category]
        c.corpus_found += hit
        if not hit:
            c.missed_forms[v.form] = c.missed_forms.get(v.form, 0) + 1
    if noisy:
        res.problems.append(f"{len(noisy)} planting sentence(s) give a finding without the value, so their values "
                            f"cannot be attributed: {sorted(noisy)[:5]}")

    # who is withheld, and why, in the normal run (its indicator table is built from these inputs)
    res.withheld = comment_selection(load_province(data))["withheld"]

    # 1. the normal run: nothing leaks, neither by the scan nor literally
    done = _batch(data, work / "scrubbed", batch_args, cache)
    if done.returncode != 0:
        res.problems.append(f"the normal run failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    findings = scanner.tree(work / "scrubbed")
    res.leaks = len(findings)
    if findings:
        res.problems.append(f"{len(findings)} finding(s) in the normal run's outputs: "
                            + "; ".join(str(f) for f in findings[:10]))
    leaked = _literal_hits(work / "scrubbed", planted.values)
    res.literal_leaks = len(leaked)
    for v in leaked:
        res.categories[v.category].leaked += 1
    if leaked:
        by = {c.category: c.leaked for c in res.categories.values() if c.leaked}
        res.problems.append(f"{len(leaked)} planted value(s) on a published page of the normal run: "
                            + ", ".join(f"{k} {v}" for k, v in by.items()))
    files = sum(1 for p in (work / "scrubbed").rglob("*") if p.is_file())
    log(f"audit: 1. scrubbed, withheld and scanned: exit {done.returncode}, {res.leaks} finding(s) and "
        f"{res.literal_leaks} planted value(s) in {files} published files; "
        f"{sum(w['withheld'] for w in res.withheld)} comments withheld in {len(res.withheld)} county-waves")

    # 2. scrubbing and withholding off: the batch's scan refuses to publish what carries planted data
    unsafe = {**cache, "EVALKIT_UNSAFE_NO_SCRUB": "1"}
    gated = _batch(data, work / "gated", batch_args, unsafe)
    runs = sorted((work / "gated").iterdir()) if (work / "gated").is_dir() else []
    if not runs or not (runs[0] / "manifest.json").is_file():
        res.problems.append(f"the unscrubbed run wrote no manifest (exit {gated.returncode}): "
                            f"{gated.stderr.strip()[-2000:]}")
    else:
        run_dir = runs[0]
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        res.gated = sorted(k for k, r in manifest["reports"].items() if r.get("privacy"))
        res.published_gated = sorted(k for k in res.gated if (run_dir / f"{k}.html").exists()
                                     or (run_dir / f"{k}.pdf").exists()
                                     or (run_dir / "notebooks" / f"{k}.ipynb").exists())
    if gated.returncode == 0 or not res.gated:
        res.problems.append("with scrubbing and withholding off the batch published every report: its scan "
                            "stopped nothing")
    if res.published_gated:
        res.problems.append(f"reports stopped by the scan were published anyway: {', '.join(res.published_gated)}")
    log(f"audit: 2. unscrubbed, not withheld, scanned: exit {gated.returncode}, {len(res.gated)} report(s) stopped "
        "by the scan and not published")

    # 3. scrubbing, withholding and the batch's scan off: the scan of the outputs finds what reached a page
    leaky = _batch(data, work / "leaky", batch_args, {**unsafe, "EVALKIT_UNSAFE_NO_SCAN": "1"})
    if leaky.returncode != 0:
        res.problems.append(f"the unscanned run failed (exit {leaky.returncode}): {leaky.stderr.strip()[-2000:]}")
    pages = {p.stem: normalise(published_text(p)) for p in (work / "leaky").rglob("*.html")}
    shown = [v for v in planted.values if _needle(v.value).search(pages.get(v.county_code, ""))]
    findings = scanner.tree(work / "leaky")
    distinct = list({(f.kind, f.digest): f for f in findings}.values())
    # found: a finding is the value, or the county's page gives fewer findings without it (Planted.missing)
    missed = []
    for county in sorted({v.county_code for v in shown}):
        page = next(iter(sorted((work / "leaky").rglob(f"{county}.html"))), None)
        missed += planted.missing(distinct, values=[v for v in shown if v.county_code == county], scanner=scanner,
                                  files=[page] if page else [])
    for v in shown:
        c = res.categories[v.category]
        c.reached += 1
        c.page_found += v not in missed
    res.reached, res.found = len(shown), len(shown) - len(missed)
    res.missed = [f"{v.category} ({v.form}) in {v.county_code}" for v in missed]
    if not shown:
        res.problems.append("no planted value reached a report: the negative control shows nothing")
    log(f"audit: 3. unscrubbed, not withheld, unscanned: exit {leaky.returncode}; {res.reached} planted value(s) "
        f"reached a page, the scan found {res.found} of them ({len(findings)} finding(s) in all)")

    # recall per category, against the threshold
    log(f"audit: recall per category (threshold {_pct(threshold)}):")
    log(f"  {'category':<20} {'kind':<10} {'planted':>7} {'corpus':>8} {'pages':>11} {'leaked':>6}")
    for c in res.categories.values():
        log(f"  {c.category:<20} {c.kind:<10} {c.planted:>7} {_pct(c.corpus_recall):>8} "
            f"{_pct(c.page_recall):>6} of {c.reached:<3} {c.leaked:>6}")
        if c.corpus_recall < threshold:
            forms = ", ".join(f"{k} {v}" for k, v in sorted(c.missed_forms.items()))
            res.problems.append(f"{c.category}: the scan found {c.corpus_found} of {c.planted} planted values "
                                f"({_pct(c.corpus_recall)}), below {_pct(threshold)} (missed: {forms})")
        if c.reached and c.page_recall < threshold:
            res.problems.append(f"{c.category}: the scan of the pages found {c.page_found} of the {c.reached} planted "
                                f"values that reached one ({_pct(c.page_recall)}), below {_pct(threshold)}")
    log("audit: comments withheld per county (normal run):")
    for w in res.withheld:
        log(f"  {w['county_code']} {w['year']}: {w['withheld']} ("
            + ", ".join(f"{k} {v}" for k, v in w["reasons"].items()) + ")")
    if not res.withheld:
        log("  none")
    if markdown:
        Path(markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown).write_text(res.markdown(), encoding="utf-8")
        log(f"audit: tables written to {markdown}")
    log("audit: " + ("PASSED: zero leaks, and the scan is proven able to fail in every category" if res.ok
                     else "FAILED:\n  " + "\n  ".join(res.problems)))
    return res
