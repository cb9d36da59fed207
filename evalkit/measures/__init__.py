"""Pure statistical measures: DataFrames in, tidy DataFrames out.

Every measure returns the grouping keys followed by the same columns
(``value``, ``lower``, ``upper``, ``confidence``, ``statistic``, ``method``,
plus ``n`` / ``denominator`` where they apply), so a table can say how each
number was made.  Measures do no I/O, plotting or rounding.
"""
