"""Presentation: figures, tables and text of the county report and the province overview.

Nothing here computes a statistic: every number comes from the indicator table
(:mod:`evalkit.indicators`), and this package only selects, formats, draws and words it, in
English or Chinese (:mod:`evalkit.report.i18n`).
"""
