"""Indicator frameworks: weights by AHP, scoring rules, composite scores, grades and ranks with uncertainty.

Purchasing bureaus act on grades (优秀 / 良好 / 合格 / 不合格) computed from a weighted
indicator framework (指标体系).  An evaluator describes the framework in a TOML file that is
edited without code (the default, for township social-work stations, is
``evalkit/framework.toml``; the format is documented in ``docs/framework.md``):

* tiers (input, process, output, outcome) and, in each, indicators read from the indicator
  table (:mod:`evalkit.indicators`), each with a scoring rule that turns its value into
  points from 0 to 100: *linear* between a floor (0 points) and the target (100 points), or a
  *stepped* rubric (评分细则);
* weights of the tiers and of the indicators within each tier, given directly or derived by the
  analytic hierarchy process (AHP) from a pairwise-comparison matrix, which is refused when its
  consistency ratio is 0.1 or more unless the file says why it is accepted;
* grade cut-offs, with names in English and Chinese.

:func:`load_framework` reads and validates such a file and reports every problem at once, each
naming the file, the key, the value and the rule.  :func:`score_counties` then computes, for
every county of a year in one vectorised pass, the composite score with an interval, the score
of each tier, the grade and the probability of every grade, the rank among the province's
counties with a rank interval, and which indicators were missing and how the weights were
redistributed.

The package: :mod:`evalkit.framework.spec` (the framework's parts, reading and checking its file),
:mod:`evalkit.framework.ahp` (weights from pairwise comparisons), :mod:`evalkit.framework.scoring` (scoring
rules, rank intervals) and :mod:`evalkit.framework.simulation` (scores, grades and ranks of every county, with
their uncertainty); every public name is importable from :mod:`evalkit.framework`.

Uncertainty
    Each indicator's sampling distribution is approximated from the interval in the indicator
    table by a *split normal* whose median is the estimate and whose 2.5th and 97.5th
    percentiles are the published 95% limits (a symmetric normal from ``se`` where only a
    standard error is known), truncated to the indicator's range.  Indicators without either,
    and indicators the framework marks ``uncertainty = "none"`` (complete counts from
    administrative registers, which have no sampling error), are held fixed.  Indicators
    sharing a ``draw_group`` (the satisfaction items answered by the same respondents) share
    their random numbers: perfectly correlated, the conservative choice for positively
    correlated estimates.  Every draw is scored, weighted, graded and ranked; intervals are
    percentiles over draws and grade probabilities are shares of draws.

Missing indicators
    An indicator without a value (suppressed, or not measured) is left out and its weight is
    shared among the remaining indicators of its tier in proportion to their weights; a tier
    with no indicator left passes its weight to the other tiers in the same way.  When the
    indicators left out carry more than ``max_missing_weight`` of the framework's weight
    (default 0.25), the county gets no score, grade or rank (reason ``too_much_missing``).

References
----------
.. [1] Saaty TL. A scaling method for priorities in hierarchical structures. J Math Psychol
   1977;15:234-281. doi:10.1016/0022-2496(77)90033-5
.. [2] Saaty TL. The Analytic Hierarchy Process. New York: McGraw-Hill; 1980.
.. [3] Saaty TL. How to make a decision: the analytic hierarchy process. Eur J Oper Res
   1990;48:9-26. doi:10.1016/0377-2217(90)90057-I
.. [4] Marshall EC, Spiegelhalter DJ. Reliability of league tables of in vitro fertilisation
   clinics: retrospective analysis of live birth rates. BMJ 1998;316:1701-1705.
   doi:10.1136/bmj.316.7146.1701
.. [5] Goldstein H, Spiegelhalter DJ. League tables and their limitations: statistical issues
   in comparisons of institutional performance. J R Stat Soc A 1996;159:385-443.
   doi:10.2307/2983325
.. [6] Ministry of Finance of the PRC. 项目支出绩效评价管理办法 (Measures for the performance
   evaluation of project expenditure), 财预〔2020〕10号: four grades at 90, 80 and 60 points.
"""

from .ahp import MAX_CR, RANDOM_INDEX, AHPResult, ahp_weights
from .scoring import linear_score, rank_intervals, step_score
from .simulation import DEFAULT_DRAWS, DEFAULT_SEED, REASONS, Scores, score_counties, score_years
from .spec import Framework, Grade, Indicator, RubricItem, Tier, WeightSet, load_framework, parse_framework

__all__ = [
    "RANDOM_INDEX",
    "MAX_CR",
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "REASONS",
    "AHPResult",
    "ahp_weights",
    "linear_score",
    "step_score",
    "rank_intervals",
    "Grade",
    "Tier",
    "Indicator",
    "RubricItem",
    "WeightSet",
    "Framework",
    "load_framework",
    "parse_framework",
    "Scores",
    "score_counties",
    "score_years",
]
