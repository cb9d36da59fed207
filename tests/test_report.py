"""The county report and the overview: every section in both languages, numbers from the indicator
table, suppression visible, comparisons labelled, parameters checked."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from evalkit.report import CountyReport, ProvinceOverview, ReportParameterError
from evalkit.report.format import SUPPRESSED, value_text
from evalkit.report.i18n import catalogue, keys, placeholders, t
from conftest import BASE

SECTIONS = ("cover", "summary", "grade", "indicator_table", "satisfaction", "comments", "reach", "staffing", "trends",
            "among_counties",
            "recommendations", "methods", "data_quality", "provenance")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module", params=["en", "zh"])
def report(request, cache):
    return CountyReport.load(BASE, "090102", year=2025, lang=request.param, cache_dir=cache)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.cells, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs and tag.startswith("h"):
            self.ids.append(attrs["id"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Text:
    p = _Text()
    p.feed(html)
    return p


def test_catalogues_have_the_same_keys_and_placeholders():
    assert keys("en") == keys("zh")
    mismatched = [k for k in keys("en") if placeholders(catalogue("en")[k]) != placeholders(catalogue("zh")[k])]
    assert mismatched == []


def test_a_missing_text_is_an_error_naming_the_key():
    with pytest.raises(KeyError, match="no text 'section.nonexistent'"):
        t("section.nonexistent", "en")


def test_every_section_renders_with_its_heading(report):
    html = "".join(str(getattr(report, s)()) for s in SECTIONS)
    parsed = _parse(html)
    expected = ["summary", "grade", "indicators", "satisfaction", "satisfaction-groups", "comments", "reach", "staffing",
                "trends",
                "among_counties", "recommendations", "methods", "data_quality", "provenance"]
    assert parsed.ids == expected
    for key in ("section.summary", "section.methods", "section.data_quality"):
        assert t(key, report.lang) in html


def test_the_report_is_in_its_language(report):
    text = "".join(_parse("".join(str(getattr(report, s)()) for s in SECTIONS)).text)
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    if report.lang == "zh":
        assert han > 500
    else:  # only the county's and townships' Chinese names, if any, but no Chinese sentence
        assert "的" not in text and "满意" not in text


def test_indicator_table_shows_the_table_values(report):
    """Each indicator's value in the report is the indicator table's value, rounded only for display."""
    html = str(report.indicator_table())
    row = report._row(report._county, "coverage")
    assert value_text(row["value"], "proportion", report.lang) in html
    sat = report._row(report._county, "satisfaction_rate", "q_overall")
    expected = SUPPRESSED if sat["suppressed"] else value_text(sat["value"], "proportion", report.lang)
    assert expected in html


def test_comparisons_carry_a_label_and_a_colour(report):
    html = str(report.indicator_table())
    cells = re.findall(r'<td class="cmp cmp-(\w+)" style="background:#[0-9a-f]{6};color:#[0-9a-f]{6}">([^<]+)</td>',
                       html)
    assert cells, "no comparison cells"
    for code, label in cells:
        assert label == t("compare." + code, report.lang)


def test_suppressed_figures_show_a_dash_and_the_note(report):
    """The small test province has suppressed cells: they show '—' and the section says why."""
    html = str(report.satisfaction())
    by_group = report._county[(report._county["indicator"] == "satisfaction_rate") & (report._county["group"] != "all")
                               & (report._county["item"] == "q_overall")]
    assert by_group["suppressed"].any()
    assert SUPPRESSED in html
    assert t("note.suppressed", report.lang, symbol=SUPPRESSED) in _unescape(html)
    for _, row in by_group[by_group["suppressed"]].iterrows():
        assert pd.isna(row["value"])  # nothing to leak: the table holds no value for a suppressed cell


def _unescape(html: str) -> str:
    import html as h

    return h.unescape(html)


def test_figures_are_inline_svg_with_alt_text_and_unique_ids(report):
    html = str(report.satisfaction()) + str(report.trends()) + str(report.among_counties())
    assert html.count("<svg") == 4
    assert len(re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="[^"]+"', html)) == 4
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_same_inputs_give_the_same_bytes(cache):
    a = CountyReport.load(BASE, "090202", year=2025, lang="zh", cache_dir=cache)
    b = CountyReport.load(BASE, "090202", year=2025, lang="zh", cache_dir=cache)
    for s in SECTIONS[:-1]:  # provenance carries the time unless SOURCE_DATE_EPOCH is set
        assert getattr(a, s)() == getattr(b, s)()


def test_a_report_made_after_others_in_the_same_process_is_the_same_as_made_alone(cache, monkeypatch):
    """What the reports of one process share (ProvinceData.shared: every county's rows of a year, the province's,
    the framework's texts) must not carry one report's county, year, language or confidence into the next."""
    from evalkit import results

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    def sections(code, year, lang, confidence):
        report = CountyReport.load(BASE, code, year=year, lang=lang, confidence=confidence, cache_dir=cache)
        return [str(getattr(report, s)()) for s in SECTIONS]

    results.forget()  # nothing shared yet
    alone = sections("090202", 2024, "zh", 0.95)
    # another report first, differing in one thing only: county (and prefecture), year, language, confidence
    for other in (("090102", 2024, "zh", 0.95), ("090202", 2025, "zh", 0.95), ("090202", 2024, "en", 0.95),
                  ("090202", 2024, "zh", 0.998)):
        results.forget()
        sections(*other)
        assert sections("090202", 2024, "zh", 0.95) == alone, other


def test_provenance_time_follows_source_date_epoch(cache, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    html = str(CountyReport.load(BASE, "090202", year=2025, cache_dir=cache).provenance())
    assert "2023-11-14 22:13 UTC" in html


@pytest.mark.parametrize("kwargs, message", [
    ({"county_code": "999999"}, "county '999999' is not in the regions table"),
    ({"county_code": 90102}, "county_code must be a string such as '090102', not 90102 (int)"),
    ({"year": 2019}, "year 2019 is not in the data (waves: 2023, 2024, 2025)"),
    ({"lang": "fr"}, "lang must be one of en, zh, not 'fr'"),
    ({"confidence": 0.9}, "confidence must be one of 0.95, 0.998, not 0.9"),
    ({"benchmarks": ["nation"]}, "benchmarks must be among prefecture, province"),
])
def test_bad_report_parameters_are_refused(cache, kwargs, message):
    args = {"county_code": "090102", "year": 2025, **kwargs}
    code = args.pop("county_code")
    with pytest.raises(ReportParameterError) as err:
        CountyReport.load(BASE, code, cache_dir=cache, **args)
    assert message in str(err.value)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_lists_every_county(cache, lang):
    o = ProvinceOverview.load(BASE, year=2025, lang=lang)
    html = "".join(str(s()) for s in (o.cover, o.counties, o.prefectures, o.distributions, o.provenance))
    for name in o.data.counties()[f"name_{lang}"]:
        assert name in html
    assert t("overview.counties", lang) in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_overview_s_prefecture_figure_is_captioned_as_prefectures(cache, lang):
    """The dot plot of prefectures' satisfaction was captioned "Satisfaction rate by dimension"."""
    o = ProvinceOverview.load(BASE, year=2025, lang=lang)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", str(o.prefectures()), re.S)
    assert captions == [t("overview.prefectures_caption", lang, confidence="95%")]
    assert ("prefecture" if lang == "en" else "市州") in captions[0]


def test_the_grade_section_shows_the_framework_grade_probability_and_rank(report):
    from evalkit.framework import load_framework

    scores = report.data.scores(2025)
    me = scores.counties.set_index("code").loc["090102"]
    html = str(report.grade())
    names = load_framework().grade_frame().set_index("grade")[report.lang]
    assert names[me["grade"]] in html
    assert f"{me['grade_probability']:.0%}" in html and f"{me['score']:.1f}" in html
    assert f"{int(me['rank_lower'])}" in html and f"{int(me['rank_upper'])}" in html
    assert "<svg" in html  # the tier bars
    # the summary leads with the grade, the recommendations with the indicators that lost the most points
    assert names[me["grade"]] in str(report.summary())
    points = report._points(scores).sort_values("lost", ascending=False)
    top = str(points.iloc[0]["indicator"])
    frame = load_framework().indicator_frame().set_index("indicator")
    recs = str(report.recommendations())
    assert recs.index(frame.loc[top, report.lang]) < recs.index("</li>")


def test_a_county_without_enough_indicators_is_not_graded_and_says_why(tmp_path):
    """Without its survey a county's outcome tier (almost half the weight) is missing: no grade, and why."""
    import shutil

    survey = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
    data = tmp_path / "province"
    shutil.copytree(BASE, data)
    code = "090202"
    dropped = survey[~((survey["county_code"] == code) & (survey["year"] == "2025"))]
    assert len(dropped) < len(survey)
    dropped.to_csv(data / "survey.csv", index=False)
    report = CountyReport.load(data, code, year=2025, lang="en", cache_dir=tmp_path / "cache")
    me = report.data.scores(2025).counties.set_index("code").loc[code]
    assert not me["graded"] and me["reason"] == "too_much_missing"
    html = str(report.grade())
    assert "Not graded" in html and "more than the 25% allowed" in html
    assert t("summary.not_graded", "en") in str(report.summary())
    assert "not graded" not in str(CountyReport.load(data, "090102", year=2025, lang="en",
                                                     cache_dir=tmp_path / "cache").summary()).lower()


def test_a_headline_figure_in_one_wave_only_shows_no_change_in_the_trends(tmp_path):
    """A county whose survey has no wave but the first: the trends say which wave it has and show no change
    (this used to stop the report with a TypeError)."""
    import shutil

    survey = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
    data = tmp_path / "province"
    shutil.copytree(BASE, data)
    code, first = "090202", min(survey["year"])
    survey[~((survey["county_code"] == code) & (survey["year"] != first))].to_csv(data / "survey.csv", index=False)
    report = CountyReport.load(data, code, year=2025, lang="en", cache_dir=tmp_path / "cache")
    rows = re.findall(r"<tr>(.*?)</tr>", str(report.trends()), re.S)
    row = next(r for r in rows if f">{report._indicator_name('satisfaction_rate')}<" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1] == first and cells[2:] == [SUPPRESSED] * 3, cells


def test_township_satisfaction_has_a_model_based_estimate_labelled_as_such(report):
    from evalkit.measures.smallarea import shrink_indicator

    html = str(report.reach())
    from evalkit.report.format import esc

    assert esc(t("table.model_based", report.lang)) in html and esc(t("reach.model_based", report.lang)) in html
    eb = shrink_indicator(report.data.table, level="township", toward="prefecture", year=2025)
    mine = eb[(eb["county_code"] == "090102") & ~eb["suppressed"]]
    assert len(mine) > 0
    for row in mine.to_dict("records"):
        assert value_text(row["value"], "proportion", report.lang) in html
    assert mine["method"].str.contains("model-based").all()


def test_comments_reach_the_report_scrubbed_and_only_where_enough_people_answered(tmp_path):
    import shutil

    data = tmp_path / "province"
    shutil.copytree(BASE, data)
    survey = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
    mine = (survey["county_code"] == "090102") & (survey["year"] == "2025")
    survey.loc[mine, "comment"] = ""
    first = survey.index[mine][:2]
    survey.loc[first[0], "comment"] = "社工很好，有事打13812345678找张伟"
    survey.loc[first[1], "comment"] = "Write to wang.fang@example.com or visit 12 Main Street"
    survey.to_csv(data / "survey.csv", index=False)
    (data / "roster.csv").write_text("name\n张伟\n", encoding="utf-8")
    report = CountyReport.load(data, "090102", year=2025, lang="zh", cache_dir=tmp_path / "cache")
    html = str(report.comments())
    assert "社工很好" in html and "[phone]" in html and "[name]" in html and "[email]" in html
    for leak in ("13812345678", "张伟", "wang.fang", "12 Main Street"):
        assert leak not in html
    # the stored table carries only the scrubbed texts, and no comment of a wave with few respondents
    comments = report.data.meta["comments"]
    assert all("13812345678" not in c["text"] for c in comments)
    sizes = survey.groupby(["county_code", "year"]).size()
    assert {(c["county_code"], str(c["year"])) for c in comments} <= set(sizes[sizes >= 10].index)
