"""The whole country (issue 20, item 4): one folder is one province; a folder of province folders is run
province by province into one run with a national index; the synthetic country is deterministic."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import DataValidationError
from evalkit.schema import load_province
from evalkit.synth import generate_national, national_profile, synthesize_national

from browser import DESKTOP, browser, open_page, visible_column  # noqa: F401 - browser is a fixture
from conftest import TODAY, run_evalkit


@pytest.fixture(scope="module")
def country(tmp_path_factory) -> Path:
    """A reduced synthetic country: the first two provinces, each the size of the small province."""
    out = tmp_path_factory.mktemp("country") / "country"
    synthesize_national(out, size="national-small", provinces=2)
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- one folder, one province


def test_a_folder_holding_two_provinces_is_refused_naming_them(country, tmp_path):
    """Two otherwise valid provinces in one folder: refused (their counties would be ranked together)."""
    both = tmp_path / "both"
    both.mkdir()
    for table in ("regions", "stations", "services", "survey"):
        a, b = (pd.read_parquet(country / code / f"{table}.parquet") for code in ("11", "12"))
        if table == "services":  # ledger record ids are unique within a folder: number the second on
            b["record_id"] = "L" + pd.Series(range(len(a) + 1, len(a) + len(b) + 1)).astype(str).str.zfill(8)
        pd.concat([a, b], ignore_index=True).to_parquet(both / f"{table}.parquet", index=False)
    shutil.copy(country / "11" / "dataset.json", both / "dataset.json")
    with pytest.raises(DataValidationError) as err:
        load_province(both, today=TODAY)
    [problem] = [p for p in err.value.problems if p.severity == "error"]
    assert (problem.file, problem.column, problem.rule) == ("regions.parquet", "province_code", "several_provinces")
    assert "11" in problem.message and "12" in problem.message and "own sub-folder" in problem.message
    assert problem.row == 122  # the first row of the second province (header row 1, 120 rows of the first)
    done = run_evalkit("validate", str(both))
    assert done.returncode == 1 and "the regions hold 2 provinces" in done.stdout


# --------------------------------------------------------------------------- the synthetic country


def test_the_national_profile_has_the_published_size():
    profile = national_profile()
    assert len(profile) == 31
    assert sum(sum(p["counties"]) for p in profile) == 2850
    assert sum(p["townships"] for p in profile) == 38_000
    codes = [p["province_code"] for p in profile]
    assert len(set(codes)) == 31 and all(re.fullmatch(r"[1-6][0-9]", c) for c in codes)
    # the Hunan profile varied: townships per county, prefecture effects and station opening differ
    assert len({round(p["townships"] / sum(p["counties"]), 1) for p in profile}) > 10
    assert len({p["delay"] for p in profile}) == 31 and len({p["shift"] for p in profile}) == 31


def test_the_synthetic_country_is_deterministic_by_seed(country, tmp_path):
    again = tmp_path / "again"
    synthesize_national(again, size="national-small", provinces=3)
    first = _hashes(country)
    second = _hashes(again)
    assert {k: v for k, v in second.items() if not k.startswith("13/")} == first  # a reduced country is a prefix
    other = tmp_path / "other"
    synthesize_national(other, seed=7, size="national-small", provinces=2)
    assert all(_hashes(other)[k] != v for k, v in first.items() if k.endswith(".parquet"))


def test_each_province_of_the_country_is_a_valid_province_of_its_own(country):
    persons = []
    for code in ("11", "12"):
        p = load_province(country / code, today=TODAY)
        assert set(p.regions["province_code"].astype(str)) == {code}
        assert p.regions["county_code"].astype(str).str.startswith(code).all()
        assert p.synthetic and "(synthetic)" in str(p.regions["province_name_en"].iloc[0])
        persons.append(set(p.services["person_id"].astype(str)))
    assert not persons[0] & persons[1]  # the provinces' pseudonyms do not collide


def test_generate_national_yields_one_province_at_a_time():
    got = generate_national(size="national-small", provinces=2)
    code, tables = next(got)
    assert code == "11" and sorted(tables) == ["regions", "services", "stations", "survey"]
    assert next(got)[0] == "12"
    with pytest.raises(StopIteration):
        next(got)


# --------------------------------------------------------------------------- a national run


@pytest.fixture(scope="module")
def national_run(country, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("national")
    done = run_evalkit("batch", str(country), "--out", str(out), "--pdf", "no", "--no-progress", "--jobs", "1",
                       env={"EVALKIT_CACHE": str(out / "cache")})
    assert done.returncode == 0, done.stderr
    assert "2 province(s): 10 rendered, 0 unchanged, 0 failed" in done.stdout
    return out / "country-2025-en"


def test_a_national_run_makes_each_province_and_a_national_index_linking_every_county(country, national_run):
    for code in ("11", "12"):
        assert {"index.html", "overview.html", "manifest.json"} <= {p.name for p in (national_run / code).iterdir()}
    page = (national_run / "index.html").read_text(encoding="utf-8")
    assert "the whole country" in page and "8 counties in 2 provinces, 2025 wave" in html.unescape(page)
    assert "<script src" not in page and "<link" not in page  # self-contained: no external loads
    assert "Type a county, prefecture or province name or code" in page and "<th scope=\"col\" aria-sort=\"none\">" \
        "<button type=\"button\" data-type=\"text\" title=\"Sort by Province\">Province</button></th>" in page
    rows = re.findall(r'<tr data-search="([^"]*)">(.*?)</tr>', page, re.S)
    counties = {code: load_province(country / code, today=TODAY).regions for code in ("11", "12")}
    expected = {c for reg in counties.values() for c in reg["county_code"].astype(str)}
    assert len(rows) == len(expected) == 8
    for search, row in rows:
        code = re.search(r'<td data-sort="(\d{6})">', row).group(1)
        expected.discard(code)
        reg = counties[code[:2]]
        mine = reg[reg["county_code"].astype(str) == code].iloc[0]
        # searchable by province, prefecture and county
        for name in (mine["province_name_en"], mine["prefecture_name_en"], mine["county_name_en"],
                     mine["county_name_zh"]):
            assert str(name).lower() in html.unescape(search)
        link = f'{code[:2]}/{code}.html'
        assert f'<a href="{link}">' in row and (national_run / link).is_file()
        assert "status-ok" in row and re.search(r"(Excellent|Good|Pass|Fail|—)", row)  # a grade (or why not)
    assert not expected
    for code in ("11", "12"):
        assert f'href="{code}/index.html"' in page
    record = json.loads((national_run / "national.json").read_text(encoding="utf-8"))
    assert [p["province_code"] for p in record["provinces"]] == ["11", "12"]
    assert record["summary"]["rendered"] == 10 and all(p["seconds"] > 0 for p in record["provinces"])


def test_the_national_index_finds_a_province_a_prefecture_and_a_county_in_a_browser(browser, national_run, country):
    page, problems = open_page(browser, national_run / "index.html", **DESKTOP)
    reg = load_province(country / "12", today=TODAY).regions
    search = page.get_by_role("searchbox")
    search.fill(str(reg["province_name_en"].iloc[0]))
    assert sorted(visible_column(page, 0)) == sorted(set(reg["county_code"].astype(str)))
    prefecture = reg[reg["prefecture_code"].astype(str) == "1202"]
    search.fill(str(prefecture["prefecture_name_en"].iloc[0]))
    assert sorted(visible_column(page, 0)) == sorted(set(prefecture["county_code"].astype(str)))
    search.fill(str(reg["county_name_en"].iloc[0]))
    assert visible_column(page, 0) == [str(reg["county_code"].iloc[0])]
    page.get_by_role("link", name=str(reg["county_name_en"].iloc[0])).first.click()
    assert page.url.endswith(f"/12/{reg['county_code'].iloc[0]}.html")
    assert problems == []


def test_a_province_in_a_national_run_is_made_as_a_run_of_it_alone(country, national_run, tmp_path):
    done = run_evalkit("batch", str(country / "12"), "--out", str(tmp_path), "--pdf", "no", "--no-progress",
                       "--jobs", "1", "--run", "12", env={"EVALKIT_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    alone = tmp_path / "12"
    for name in ("120102.html", "120221.html", "overview.html", "index.html"):
        assert (alone / name).read_bytes() == (national_run / "12" / name).read_bytes(), name


def test_provinces_chooses_province_folders_and_an_unknown_one_is_refused(country, tmp_path):
    done = run_evalkit("batch", str(country), "--provinces", "12", "99", "--out", str(tmp_path), "--pdf", "no",
                       "--no-progress")
    assert done.returncode == 1
    assert "no province folder '99'" in done.stderr and "11, 12" in done.stderr and not any(tmp_path.iterdir())


def test_validate_checks_each_province_of_a_country(country):
    done = run_evalkit("validate", str(country))
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("OK: all tables valid") == 2
    assert f"Validating {country / '11'}" in done.stdout and f"Validating {country / '12'}" in done.stdout
    listed = json.loads(run_evalkit("validate", str(country), "--json").stdout)
    assert [(Path(p["data_dir"]).name, p["errors"]) for p in listed] == [("11", 0), ("12", 0)]


def test_tables_built_on_a_dask_cluster_are_those_built_locally(country, tmp_path, monkeypatch):
    """Each province's table is a task with the inputs by value; the client writes what comes back."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from evalkit.national import build_tables

    folders = [country / "11", country / "12"]
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "local"))
    local = build_tables(folders, jobs=1, log=lambda m: None)
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "dask"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = build_tables(folders, scheduler=cluster.scheduler_address, log=lambda m: None)
    assert [r["province_code"] for r in remote] == [r["province_code"] for r in local] == ["11", "12"]
    assert not any(key in r for r in remote for key in ("table", "entry"))  # the bytes went to the cache
    built = {p.name: p.read_bytes() for p in (tmp_path / "local").glob("indicators-*.parquet")}
    sent = {p.name: p.read_bytes() for p in (tmp_path / "dask").glob("indicators-*.parquet")}
    assert len(built) == 2 and sent == built
