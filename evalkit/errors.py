"""Problems found in input data, and the exceptions evalkit raises.

Every problem names the file, the row as a spreadsheet shows it, the column, the
offending value and the rule it breaks, so an evaluator can fix the source file
without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "EvalkitError", "InputError", "DataValidationError"]


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
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class EvalkitError(Exception):
    """Raised when evalkit cannot go on; the message says what to do."""


class InputError(EvalkitError):
    """Raised when an input file cannot be read at all (encoding, format, header)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


class DataValidationError(EvalkitError):
    """Raised when input data break one or more rules; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = "\n".join(f"  {p}" for p in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in the input data:\n{head}{more}")
