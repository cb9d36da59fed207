# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Import your own data
#
# Real data arrive as exports, not in the codebook's shape: the survey from a questionnaire platform with
# numbered questions as headers and text answers, service ledgers one workbook per county with a sheet per
# half-year, registers with a sheet per prefecture, an SPSS file from last year's survey. `evalkit import`
# turns such a folder into a validated data folder in four steps: **suggest** a mapping file, **edit** it,
# **import**, **validate**. The same steps on the command line:
#
# ```sh
# evalkit import RAW_DIR --suggest -o MAP.toml        # draft the mapping file
# # ... edit MAP.toml ...
# evalkit import RAW_DIR -o DATA_DIR --map MAP.toml   # import: writes DATA_DIR only if it validates
# evalkit validate DATA_DIR
# ```
#
# Here the raw folder is the synthetic sample province written the way real exports look
# (`evalkit synth --raw DIR`, into a temporary folder). Point `raw_dir` at your own exports instead; the
# mapping file's format is in `data/README.md`, "Importing raw exports". Nothing here is personal data: the
# sample's nicknames, IP addresses and (masked) phone numbers are made up.

# %% tags=["parameters"]
raw_dir: str = ""  # folder of raw exports; "" writes the raw sample province (small) into a temporary folder

# %%
import re
import tempfile
from pathlib import Path

import pandas as pd

import evalkit
from evalkit.importer import import_folder, suggest
from evalkit.synth_raw import write_raw

work = Path(tempfile.mkdtemp(prefix="evalkit-import-"))
raw = Path(raw_dir) if raw_dir else work / "raw"
if not raw_dir:
    write_raw(raw, size="small")
    (raw / "mapping.toml").unlink()  # the sample ships the finished mapping: start from nothing, as you would
sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file())

# %% [markdown]
# ## 1. Suggest
# `suggest` reads every file and sheet and drafts the mapping: one `[[source]]` block per file or group of
# files with the same headers, each header matched to the codebook column it most resembles, with the
# confidence in a comment. Headers that are the codebook's English or Chinese names are sure matches;
# personal-data and platform columns (IP, nickname, phone, submission time) are put under `drop`; what
# it could not match is listed as comments, and columns the table needs but the files lack are offered as
# constants.

# %%
draft = suggest(raw)
print(draft[draft.index('files = ["问卷/满意度调查-2024.xlsx"]'):][:2200])

# %% [markdown]
# ## 2. Edit
# Read the draft the way you would in an editor. The registers and stations are matched; what is left:
#
# - the ledgers' `服务对象编号` (the pseudonymous person id) was not recognised: map it to `person_id`;
# - five survey questions are worded in the questionnaire's own way (`7、总的来说，您对社工站提供的服务是否满意？`),
#   too far from the codebook's names (`总体满意度`) for a guess: map each to its column. In the SPSS file
#   the same questions are variables `Q6`…`Q13` (the draft shows their labels);
# - a platform export has no wave column: give each file its wave as a constant (`year = 2024`); the
#   survey blocks come in file order, 2023 (SPSS), 2024, 2025. The 2025 questionnaire was revised, so its
#   file has a block of its own.
#
# Each edit below replaces one line of the draft with the line you would type. Answers need no mapping:
# 非常满意 … 非常不满意, 说不清 and 拒绝回答, the groups' Chinese names and SPSS value labels are the
# standard ones.

# %%
mapping = (
    draft
    .replace('#   "服务对象编号" (column E)', 'person_id = "服务对象编号"')
    .replace('#   "Q6" (column N)', 'group = "Q6"')
    .replace('#   "Q7" (column O)', 'q_overall = "Q7"')
    .replace('#   "Q8" (column P)', 'q_access = "Q8"')
    .replace('#   "Q12" (column T)', 'q_effect = "Q12"')
    .replace('#   "Q13" (column U)', 'comment = "Q13"')
    .replace('#   "6、您属于以下哪类人员？" (column N)', 'group = "6、您属于以下哪类人员？"')
    .replace('#   "7、总的来说，您对社工站提供的服务是否满意？" (column O)', 'q_overall = "7、总的来说，您对社工站提供的服务是否满意？"')
    .replace('#   "8、您觉得到社工站办事、获得服务是否方便？" (column P)', 'q_access = "8、您觉得到社工站办事、获得服务是否方便？"')
    .replace('#   "12、您对社工服务的效果是否满意？" (column T)', 'q_effect = "12、您对社工服务的效果是否满意？"')
    .replace('#   "13、您对社工站的服务还有什么意见和建议？" (column U)', 'comment = "13、您对社工站的服务还有什么意见和建议？"')
    .replace("# year = ...", "year = 2023", 1)
    .replace("# year = ...", "year = 2024", 1)
    .replace("# year = ...", "year = 2025", 1)
)
map_file = work / "mapping.toml"
map_file.write_text(mapping, encoding="utf-8")
print(mapping[mapping.index('files = ["问卷/满意度调查-2025.xlsx"]'):][:1800])

# %% [markdown]
# A mistake in the mapping file (a column that does not exist, a sheet that is not there, a value no map
# covers) stops the import with a message naming its line; nothing is written.

# %% [markdown]
# ## 3. Import
# `import_folder` reads every file and sheet, maps and recodes, joins the parts, writes Parquet and
# validates. It writes the data folder only when the result validates; every problem names the original
# file, sheet, spreadsheet row and column. The report (also `import-report.md` in the data folder) says,
# per table, what was read, which column came from where, every value recoded and every column dropped.

# %%
data_dir = work / "data"
result = import_folder(raw, data_dir, mapping=map_file)
print("valid:", result.ok, "| rows:", result.rows, f"| {result.seconds:.1f} s")

# %%
report = result.report
print(report[report.index("## survey"):][:1500])

# %%
print(report[report.index("Columns dropped", report.index("## survey")):][:1200])

# %% [markdown]
# ## 4. Validate
# The data folder is an ordinary evalkit data folder: `evalkit validate` checks it (the import already
# did, so only warnings remain: here a ledger with a few repeated contacts, and the county that missed
# the 2024 wave), and `evalkit.load_province` reads it for everything else: indicators, reports, batch.

# %%
typed, problems, meta, sources = evalkit.validate_province(data_dir)
pd.DataFrame([{"severity": p.severity, "file": p.file, "column": p.column, "rule": p.rule} for p in problems])

# %%
province = evalkit.load_province(data_dir)
province.survey.head()
