"""Problems found in input data, and the exceptions evalkit raises.

Every problem names the file, the row as a spreadsheet shows it, the column, the
offending value and the rule it breaks, so an evaluator can fix the source file
without reading code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Problem", "EvalkitError", "InputError", "DataValidationError", "ScanError", "PersonalDataFound",
           "FrameworkProblem", "FrameworkError", "InconsistentJudgementsError", "escape_controls"]

#: Characters that act rather than show, or show as nothing: C0 and C1 controls (line breaks among them),
#: DEL, the Unicode line and paragraph separators, the bidirectional embedding, override and isolate
#: controls, the zero-width characters and marks (U+200B-U+200F), the byte-order mark (U+FEFF) and the
#: tag characters (U+E0000-U+E007F).
#: The bidirectional marks and controls (LRM, RLM, embeddings, overrides, isolates).
BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: Characters that show as nothing: zero-width space, non-joiner and joiner, the byte-order mark, the tags.
INVISIBLE = "\u200b-\u200d\ufeff\U000e0000-\U000e007f"
UNSAFE = f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{BIDI}{INVISIBLE}]"
_UNSAFE = re.compile(UNSAFE)


def escape_controls(text: str) -> str:
    r"""``text`` with its control, line-break and bidirectional-control characters written as escapes, so
    that printing a hostile value shows it rather than acting it out on the terminal.

    >>> print(escape_controls("Qingxin\u202eDistrict\n"))
    Qingxin\u202eDistrict\n
    """
    def one(m: re.Match) -> str:
        c = m.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or (
            f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")

    return _UNSAFE.sub(one, text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file.

    Attributes
    ----------
    file : str
        File name as the user knows it (``survey.csv``).
    row : int or None
        Row number as a spreadsheet shows it (the header is usually row 1);
        ``None`` for problems with the whole file.
    column : str or None
        Column name, or ``None`` for problems with a whole row or file.
    value : str or None
        The offending value as it appears in the file.
    rule : str
        A short stable identifier of the rule broken (``allowed_codes``).
    message : str
        A sentence that says what is wrong and how to fix it.
    severity : str
        ``"error"`` blocks all further work; ``"warning"`` is reported only.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {'line' if self.file.endswith(('.json', '.toml', '.md')) else 'row'} {self.row}"
        if self.column is not None:  # a JSON or TOML file has keys, not columns
            where += f", {'key' if self.file.endswith(('.json', '.toml')) else 'column'} '{self.column}'"
        return escape_controls(f"{where}: {self.message}")  # a value quoted in the message cannot act


class EvalkitError(Exception):
    """Raised when evalkit cannot go on; the message says what to do."""


class InputError(EvalkitError):
    """Raised when an input file cannot be read at all (encoding, format, header)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def _listing(items: list, limit: int) -> str:
    """The first ``limit`` items, one an indented line, and how many more there are."""
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return "\n".join(f"  {item}" for item in items[:limit]) + more


class DataValidationError(EvalkitError):
    """Raised when input data break one or more rules; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s) in the input data:\n{_listing(errors, 20)}")


class ScanError(EvalkitError):
    """Raised when an output file cannot be scanned for personal data; treat the file as failing the scan."""


class PersonalDataFound(EvalkitError):
    """Raised when rendered outputs contain personal data; carries every finding (values masked)."""

    def __init__(self, findings: list):
        self.findings = list(findings)
        super().__init__(f"{len(self.findings)} piece(s) of personal data found in the outputs; they must not be "
                         f"published:\n{_listing(self.findings, 10)}")


@dataclass(frozen=True)
class FrameworkProblem:
    """One thing wrong with an indicator framework file.

    Attributes
    ----------
    file : str
        File name as the user knows it (``framework.toml``).
    key : str
        Dotted path of the offending key (``indicators.coverage.scoring.floor``), or
        ``""`` for the whole file.
    value : str or None
        The offending value as written in the file.
    rule : str
        A short stable identifier of the rule broken (``floor_below_target``).
    message : str
        A sentence that says what is wrong and how to fix it.
    """

    file: str
    key: str
    value: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, key '{self.key}'" if self.key else self.file
        return f"{where}: {self.message}"


class FrameworkError(EvalkitError):
    """Raised when an indicator framework file breaks one or more rules; carries every problem found."""

    def __init__(self, problems: list[FrameworkProblem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the indicator framework:\n{_listing(self.problems, 20)}")


class InconsistentJudgementsError(EvalkitError, ValueError):
    """Raised when a pairwise-comparison matrix is too inconsistent (consistency ratio at or above the limit)."""
