# Reference values for evalkit.measures.trend.cochran_armitage, produced by R's prop.trend.test
# (package stats).  Run from this folder:
#     Rscript prop_trend_test.R > prop_trend_test.json
# Each entry keeps its inputs and the R call; the Python test feeds every case to one
# vectorised call (by = "id") and compares the statistic and p-value to 1e-8 relative.

cases <- list(
  # R's documentation example (?prop.trend.test), default scores and the scores of its second call
  list(id = "r_doc_smokers", x = c(83, 90, 129, 70), n = c(86, 93, 136, 82), score = NULL),
  list(id = "r_doc_smokers_score_0001", x = c(83, 90, 129, 70), n = c(86, 93, 136, 82), score = c(0, 0, 0, 1)),
  # three yearly waves scored by the year
  list(id = "waves_by_year", x = c(180, 190, 205), n = c(200, 210, 220), score = c(2023, 2024, 2025)),
  # a falling proportion with unequally spaced scores
  list(id = "decreasing_unequal_scores", x = c(30, 25, 20, 10, 5), n = c(50, 50, 50, 50, 50), score = c(1, 2, 4, 8, 16)),
  # no linear trend at all (the statistic is 0)
  list(id = "flat", x = c(10, 20, 10), n = c(100, 200, 100), score = NULL),
  # county-sized counts near a 90% satisfaction rate
  list(id = "county_sized", x = c(1510, 1620, 1702), n = c(1700, 1750, 1800), score = c(2023, 2024, 2025)),
  # a category without trials: x/n is NaN and lm() drops it
  list(id = "empty_category", x = c(5, 0, 8, 12), n = c(20, 0, 25, 30), score = NULL),
  # non-integer (weighted) counts
  list(id = "weighted_counts", x = c(12.5, 30.2, 41.7), n = c(40.1, 55.3, 60.0), score = NULL),
  # negative and fractional scores
  list(id = "fractional_scores", x = c(4, 9, 15, 22), n = c(40, 42, 45, 41), score = c(-1.5, 0, 2.5, 3)),
  # two categories: the Pearson chi-squared of the 2x2 table without continuity correction
  list(id = "two_categories", x = c(15, 25), n = c(50, 50), score = NULL)
)

num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
q <- function(s) paste0('"', s, '"')
entries <- character(0)
for (cs in cases) {
  score <- if (is.null(cs$score)) seq_along(cs$x) else cs$score
  call <- if (is.null(cs$score)) sprintf("prop.trend.test(c(%s), c(%s))",
                                          paste(cs$x, collapse = ", "), paste(cs$n, collapse = ", "))
          else sprintf("prop.trend.test(c(%s), c(%s), c(%s))", paste(cs$x, collapse = ", "),
                       paste(cs$n, collapse = ", "), paste(cs$score, collapse = ", "))
  res <- eval(parse(text = call))
  entries <- c(entries, paste0(
    "    {", q("id"), ": ", q(cs$id), ", ", q("r_call"), ": ", q(call), ", ",
    q("x"), ": ", num(cs$x), ", ", q("n"), ": ", num(cs$n), ", ", q("score"), ": ", num(score), ", ",
    q("default_score"), ": ", tolower(as.character(is.null(cs$score))), ", ",
    q("statistic"), ": ", sprintf("%.17g", unname(res$statistic)), ", ",
    q("df"), ": ", sprintf("%d", as.integer(res$parameter)), ", ",
    q("p_value"), ": ", sprintf("%.17g", res$p.value), "}"))
}
cat("{\n")
cat('  "source": "R prop.trend.test (stats), ', R.version.string, '",\n', sep = "")
cat('  "entries": [\n', paste(entries, collapse = ",\n"), "\n  ]\n}\n", sep = "")
