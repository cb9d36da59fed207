"""The privacy audit end to end on the small province: three real batch runs over planted personal data."""

from __future__ import annotations

from evalkit.audit import run_audit


def test_planted_personal_data_never_reaches_an_output_and_the_scan_would_catch_it(small_province, tmp_path):
    result = run_audit(small_province, tmp_path / "audit", seed=3, batch_args=["--jobs", "1"], log=lambda m: None)
    assert result.problems == []
    assert result.planted >= 12
    assert result.leaks == 0  # 1. scrubbed and scanned: nothing found in any published file
    assert result.gated and result.published_gated == []  # 2. unscrubbed: the batch's scan stopped them
    assert result.reached > 0 and result.found == result.reached  # 3. unscanned: every shown value found
