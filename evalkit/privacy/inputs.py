"""What the privacy scan looks for that the inputs hold: the roster's names, every person id, the place names.

:func:`load_roster` also serves the scrub (:func:`evalkit.privacy.scrub.assess` takes its names); the place
names and the report catalogues' texts are what a report shows anyway (:func:`evalkit.privacy.scan.scanner_for`
sets aside the roster names found in them).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from ..errors import DataValidationError, InputError

__all__ = ["ID_COLUMNS", "input_person_ids", "load_roster"]


# --------------------------------------------------------------------------- inputs: roster and person ids


def load_roster(data_dir: str | Path) -> list[str]:
    """The names in the optional roster table (``roster.csv``, ``.xlsx`` or ``.parquet``) of ``data_dir``.

    The roster is one column, ``name``: the names of service users, respondents, staff and anyone
    else whose name could appear in a comment, in Chinese or pinyin (one spelling a row).  It is
    only used to find names; it links no name to any id.  No roster gives an empty list.

    Raises
    ------
    DataValidationError
        When the roster breaks the codebook's rules (a missing ``name`` column, an empty name, an
        unexpected column).
    """
    from ..io import find_table, read_raw
    from ..schema import table_spec, validate_table

    try:
        path = find_table(data_dir, "roster")
    except InputError as err:
        if err.problem.rule == "missing_table":
            return []
        raise
    raw = read_raw(path, [c["name"] for c in table_spec("roster")["columns"]], "roster")
    frame, problems = validate_table(raw, "roster")
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    return sorted({" ".join(str(n).split()) for n in frame["name"].dropna() if str(n).strip()})


#: The id columns whose values are searched for in the outputs.
ID_COLUMNS = {"services": ("person_id",), "survey": ("respondent_id", "interviewer_id")}


def input_person_ids(data_dir: str | Path) -> pd.Series:
    """Every distinct person id in the inputs of ``data_dir`` (services ``person_id``, survey
    ``respondent_id`` and ``interviewer_id``), read straight from the files."""
    from ..io import find_table, read_raw

    parts = []
    for table, cols in ID_COLUMNS.items():
        path = find_table(data_dir, table)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            have = set(pq.read_schema(path).names)
            frame = pd.read_parquet(path, columns=[c for c in cols if c in have])
        else:
            from ..schema import table_spec

            frame = read_raw(path, [c["name"] for c in table_spec(table)["columns"]], table).frame
        parts += [frame[c].dropna().astype(str) for c in cols if c in frame.columns]
    return pd.Series(pd.unique(pd.concat(parts, ignore_index=True)) if parts else [], dtype=object)


def place_names(data_dir: str | Path) -> list[str]:
    """Every province, prefecture, county and township name (English and Chinese) in the regions table."""
    from ..io import find_table

    path = find_table(data_dir, "regions")
    cols = [f"{lvl}_name_{lang}" for lvl in ("province", "prefecture", "county", "township") for lang in ("en", "zh")]
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
        frame = pd.read_parquet(path, columns=[c for c in cols if c in have])
    else:
        from ..io import read_raw
        from ..schema import table_spec

        frame = read_raw(path, [c["name"] for c in table_spec("regions")["columns"]], "regions").frame
    return [str(v) for c in cols if c in frame.columns for v in pd.unique(frame[c].dropna().astype(str))]


def background_texts(data_dir: str | Path | None) -> str:
    """Place names of the inputs and every text of the report catalogues: what a report shows anyway."""
    if data_dir is None:
        return _catalogue_texts()
    return _catalogue_texts() + "\n" + "\n".join(place_names(data_dir))


@functools.lru_cache(maxsize=1)
def _catalogue_texts() -> str:
    """Every text of the report catalogues (en and zh)."""
    from importlib import resources

    from .. import registry

    texts = []
    for lang in ("en", "zh"):
        try:
            texts.append(resources.files("evalkit").joinpath(f"report/locale/{lang}.toml").read_text(encoding="utf-8"))
        except (FileNotFoundError, OSError):
            pass
        texts.append("\n".join(registry.texts(lang).values()))  # the indicators' texts, from the registry
    return "\n".join(texts)
