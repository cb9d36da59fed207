"""The privacy audit end to end on the small province: a generated corpus of 500+ personal-data values of
every category (evalkit.planting), three real batch runs, recall per category, withheld per county."""

from __future__ import annotations

import re
import unicodedata

import pytest

import evalkit.privacy as privacy
from evalkit.audit import THRESHOLD, run_audit
from evalkit.planting import CATEGORIES, MIN_VALUES, corpus, normalise, plant

#: True until the real detectors of issue 16 replace the stub of evalkit.privacy.assess: the audit's
#: machinery is tested either way; its proof (zero leaks, recall >= 99% in every category) can hold only then.
DETECTORS_PENDING = "INTERFACE STUB" in (privacy.assess.__doc__ or "")


def test_the_corpus_has_500_values_of_every_category_in_every_form():
    values = corpus(seed=5)
    assert len(values) >= MIN_VALUES
    per = {c: [v for v in values if v.category == c] for c in CATEGORIES}
    assert all(len(vs) >= MIN_VALUES // len(CATEGORIES) for vs in per.values()), {c: len(v) for c, v in per.items()}
    assert corpus(seed=5) == values and corpus(seed=6) != values  # reproducible
    written = [v.value for v in values]
    assert any("\u3000" in v.value for v in per["name_spaced"]) and any(" " in v.value for v in per["name_spaced"])
    assert {v.form for v in per["name_spaced"]} == {"ascii_space", "fullwidth_space"}
    assert any(re.search("[０-９]", w) for w in written) and any(re.search("[Ａ-Ｚａ-ｚ]", w) for w in written)
    emails = [v.value for v in per["email"]]
    for mark in ("＠", "。", "点", " at ", " dot ", "(at)"):
        assert any(mark in e for e in emails), mark
    assert any(set(v.value) <= set("零一二三四五六七八九幺〇 ") for v in per["phone_zh_numerals"])
    assert {".", "-", " "} <= {ch for v in per["phone_mobile"] for ch in v.value if not ch.isalnum() and ch != "+"}
    for addr in ("号", "组", "村", "单元", "室"):
        assert any(addr in v.value for c in ("address_street", "address_village", "address_estate")
                   for v in per[c]), addr
    assert {v.form for v in per["licence_plate"]} >= {"dot", "new_energy", "fullwidth"}
    # a value is one thing however it is spaced or widened
    assert normalise("１３８\u3000０ ０１３") == "1380013" and unicodedata.normalize("NFKC", "＠") == "@"


def test_plant_spreads_the_corpus_over_the_counties_of_the_latest_wave_and_keeps_the_copy_valid(small_province,
                                                                                                   tmp_path):
    from evalkit.schema import load_province

    planted = plant(small_province, tmp_path / "p", seed=2)
    assert len(planted.values) >= MIN_VALUES and len(planted.counties()) == 4
    province = load_province(planted.data_dir)  # ids untouched: the copy still passes validation
    survey = province.survey.set_index("respondent_id")
    for rid, text in planted.comments.items():
        assert survey.at[rid, "comment"] == text and int(survey.at[rid, "year"]) == planted.year
    for v in planted.values:
        assert v.sentence() in planted.comments[v.respondent_id]
    # only the roster category is in the roster: the others are names the detectors must find unaided
    roster = set(privacy.load_roster(planted.data_dir))
    assert {v.value for v in planted.values if v.category == "name_roster"} <= roster
    assert not roster & {v.value for v in planted.values if v.category in ("name_bare", "name_pinyin")}


@pytest.mark.parametrize("seed", range(6))
def test_the_scan_finds_every_planted_value_in_its_sentence_and_assess_never_publishes_one(seed):
    """The audit's corpus recall (step 0) without kernels, over several seeds: each value in the sentence it is
    planted in is found by the scan (and the sentence without it gives nothing), and :func:`assess` either
    scrubs it or withholds the comment (what run 1 relies on)."""
    values = corpus(seed=seed)
    roster = [v.value for v in values if v.category == "name_roster"]
    scanner = privacy.Scanner(names=roster)
    missed, published = [], []
    for v in values:
        if scanner.text(v.carrier.replace("{v}", "")) or not scanner.text(v.sentence()):
            missed.append(f"{v.category} ({v.form}): {v.sentence()}")
        a = privacy.assess([v.sentence()], roster)[0]
        if a.publishable and normalise(v.value) in normalise(a.text):
            published.append(f"{v.category} ({v.form}): {a.text}")
    assert missed == [] and published == [], (missed, published)


@pytest.fixture(scope="module")
def audit(small_province, tmp_path_factory):
    work = tmp_path_factory.mktemp("audit")
    lines: list[str] = []
    result = run_audit(small_province, work / "run", seed=3, batch_args=["--jobs", "1"], log=lines.append,
                       markdown=work / "audit.md")
    return result, "\n".join(lines), (work / "audit.md").read_text(encoding="utf-8")


def test_the_audit_measures_every_category_and_fails_exactly_below_the_threshold(audit):
    result, printed, markdown = audit
    assert result.planted >= MIN_VALUES
    assert list(result.categories) == list(CATEGORIES)
    assert all(c.planted >= MIN_VALUES // len(CATEGORIES) for c in result.categories.values())
    assert result.reached > 0  # 3. some planted values reached a page with scrubbing and withholding off
    assert result.gated and result.published_gated == []  # 2. the batch's scan stopped them
    # recall per category is printed and written, with the comments withheld per county
    for c in result.categories.values():
        assert re.search(rf"^  {c.category} +{c.kind} +{c.planted} ", printed, re.M), c.category
        assert f"| `{c.category}` | {c.kind} | {c.planted} | {c.corpus_found} (" in markdown
    assert "comments withheld per county" in printed and "| county | wave | comments withheld |" in markdown
    # the verdict follows the measurements: a problem for each category below the threshold, none above
    for c in result.categories.values():
        below = c.corpus_recall < THRESHOLD
        assert below == any(p.startswith(f"{c.category}: the scan found ") for p in result.problems), c
        page_below = bool(c.reached) and c.page_recall < THRESHOLD
        assert page_below == any(p.startswith(f"{c.category}: the scan of the pages") for p in result.problems), c
    assert (result.leaks == 0 and result.literal_leaks == 0) or not result.ok
    assert result.ok == (result.problems == [])
    assert ("PASSED" in printed) == result.ok


@pytest.mark.xfail(DETECTORS_PENDING, strict=True,
                   reason="evalkit.privacy.assess is still the interface stub: the new categories (bare, spaced and "
                          "pinyin names, Chinese numerals, WeChat, QQ, plates, bank cards, ...) are neither scrubbed, "
                          "withheld nor found until the detectors of issue 16 are merged")
def test_planted_personal_data_never_reaches_an_output_and_the_scan_finds_99_percent_of_every_category(audit):
    result, _, _ = audit
    assert result.problems == []
    assert result.leaks == 0 and result.literal_leaks == 0  # 1. nothing on any published page
    for c in result.categories.values():
        assert c.leaked == 0 and c.corpus_recall >= THRESHOLD, c
        assert not c.reached or c.page_recall >= THRESHOLD, c
    assert result.found == result.reached > 0


def test_the_literal_search_finds_a_planted_value_however_a_page_writes_it(tmp_path):
    """Run 1's second proof (no planted value on any published page) does not depend on the detectors: a
    value is found escaped in HTML, \\u-escaped in a notebook, spaced or widened, but not inside a longer number."""
    import json

    from evalkit.audit import _literal_hits
    from evalkit.planting import PlantedValue

    values = [PlantedValue("name_bare", "chinese", "郭德明", "{v}"), PlantedValue("qq", "qq", "78716509", "QQ{v}"),
              PlantedValue("phone_mobile", "spaced", "181 0131 0265", "{v}"),
              PlantedValue("email", "plain", "a.b12@example.com", "{v}")]
    (tmp_path / "090102.html").write_text("<p>&#x90ED;德&#26126;说 <span title='QQ78716509'>x</span></p>",
                                          encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "090102.ipynb").write_text(json.dumps({"cells": [{"source": "１８１０１３１０２６５"}]}),
                                                         encoding="utf-8")
    (tmp_path / "index.html").write_text("<p>0.1781016509 a.b12@example.com</p>", encoding="utf-8")
    hits = _literal_hits(tmp_path, values)
    assert {v.category: sorted(files) for v, files in hits.items()} == {
        "name_bare": ["090102.html"], "qq": ["090102.html"], "phone_mobile": ["notebooks/090102.ipynb"],
        "email": ["index.html"]}
    (tmp_path / "090102.html").write_text("<p>QQ 1787165090</p>", encoding="utf-8")  # a longer number is not it
    assert [v.category for v in _literal_hits(tmp_path, values)] == ["phone_mobile", "email"]
