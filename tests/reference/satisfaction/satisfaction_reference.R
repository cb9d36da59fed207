# Reference values for evalkit.measures.satisfaction, produced by R's survey package and base R.
# Run from this folder (Debian: apt-get install r-cran-survey):
#     Rscript satisfaction_reference.R > satisfaction_reference.json
#
# Data: tests/data/base/survey.csv (the committed test province; Likert 8 = don't know,
# 9 = refused).  Design as evalkit.measures.satisfaction builds it: each wave is a separate
# sample, so strata are (year, township) and PSUs are (year, village).
#
# For every item and every domain (all respondents; year x county; year x county x group) the
# domain is "in the group and a valid answer 1-5", taken with subset(), which keeps the full
# design's PSU counts (rows outside the domain stay in the design) and gives the domain's own
# degf; so these are independent checks of the domain mechanism as well as of the measures:
#   satisfaction_rate : svyciprop(~I(score >= 4), sub, method = "logit" | "beta")
#   mean_score        : svymean(~score, sub, deff = TRUE), confint(..., df = degf(sub))
#   net_satisfaction  : svymean(~net, sub, deff = TRUE), confint(..., df = degf(sub)), where
#                       net = +1 for 4-5, 0 for 3, -1 for 1-2
# Cronbach's alpha: base R only (var() and cov.wt()), listwise complete cases, with the Feldt
# interval 1 - (1 - alpha) * qf(c(0.975, 0.025), n - 1, (n - 1) * (k - 1)).
suppressMessages(library(survey))
options(survey.lonely.psu = "fail")  # the test data have two or more PSUs in every stratum

sv <- read.csv(file.path("..", "..", "data", "base", "survey.csv"),
               colClasses = c(county_code = "character", township_code = "character",
                              psu = "character", respondent_id = "character"))
sv$stratum_w <- paste(sv$year, sv$township_code, sep = "/")
sv$psu_w <- paste(sv$year, sv$psu, sep = "/")
items <- c("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect")
for (it in items) {
  s <- ifelse(sv[[it]] %in% 1:5, sv[[it]], NA)
  sv[[paste0("s_", it)]] <- s
  sv[[paste0("t_", it)]] <- as.numeric(s >= 4)
  sv[[paste0("n_", it)]] <- sign(s - 3)
}
des <- svydesign(ids = ~psu_w, strata = ~stratum_w, weights = ~weight, data = sv)

# NA -> null; NaN and infinities as Python's json reads them
f <- function(v) if (is.nan(v)) "NaN" else if (is.na(v)) "null" else if (is.infinite(v))
  (if (v > 0) "Infinity" else "-Infinity") else sprintf("%.17g", v)
q <- function(s) paste0('"', s, '"')
entries <- character(0)
emit <- function(by, keys, item, measure, method, value, se, lower, upper, deff, degf, n, n_excl, call,
                 warn = character(0)) {
  kv <- if (length(keys)) paste(sprintf('"%s": %s', names(keys),
                                        sapply(keys, function(k) if (is.numeric(k)) k else q(k))),
                                collapse = ", ") else ""
  entries <<- c(entries, paste0(
    "    {", '"by": [', if (length(by)) paste(q(by), collapse = ", ") else "", '], "keys": {', kv, '}, ',
    '"item": ', q(item), ', "measure": ', q(measure), ', "method": ', q(method),
    ', "value": ', f(value), ', "se": ', f(se), ', "lower": ', f(lower), ', "upper": ', f(upper),
    ', "deff": ', f(deff), ', "df": ', degf, ', "n": ', n, ', "n_excluded": ', n_excl,
    ', "r_call": ', q(call),
    if (length(warn)) paste0(', "r_warning": ', q(gsub('"', "'", warn[1]))) else "", "}"))
}

domains <- function(by) {
  if (!length(by)) return(list(list()))
  combos <- unique(sv[by])
  combos <- combos[do.call(order, combos), , drop = FALSE]
  lapply(seq_len(nrow(combos)), function(i) as.list(combos[i, , drop = FALSE]))
}

for (by in list(character(0), c("year", "county_code"), c("year", "county_code", "group"))) {
  for (keys in domains(by)) {
    in_group <- rep(TRUE, nrow(sv))
    for (k in names(keys)) in_group <- in_group & sv[[k]] == keys[[k]]
    cond <- if (length(keys)) paste(sprintf("%s == %s", names(keys),
      sapply(keys, function(k) if (is.numeric(k)) k else paste0("'", k, "'"))), collapse = " & ") else "TRUE"
    for (it in items) {
      s <- paste0("s_", it)
      ok <- in_group & !is.na(sv[[s]])
      n <- sum(ok); n_excl <- sum(in_group) - n
      if (n == 0) next
      sub <- des[ok, ]
      dg <- degf(sub)
      sub_call <- sprintf("subset(des, %s & !is.na(%s))", cond, s)
      for (m in c("logit", "beta")) {
        warn <- character(0)
        r <- withCallingHandlers(svyciprop(as.formula(paste0("~", paste0("t_", it))), sub, method = m),
                                 warning = function(w) { warn <<- c(warn, conditionMessage(w))
                                                         invokeRestart("muffleWarning") })
        ci <- attr(r, "ci")
        d <- deff(svymean(as.formula(paste0("~", paste0("t_", it))), sub, deff = TRUE))
        emit(by, keys, it, "satisfaction_rate", m, unname(coef(r)), unname(sqrt(attr(r, "var"))),
             unname(ci[1]), unname(ci[2]), unname(d[1]), dg, n, n_excl,
             sprintf("svyciprop(~t_%s, %s, method='%s')", it, sub_call, m), warn)
      }
      for (pair in list(c("mean_score", "s_"), c("net_satisfaction", "n_"))) {
        v <- paste0(pair[2], it)
        r <- svymean(as.formula(paste0("~", v)), sub, deff = TRUE)
        ci <- suppressWarnings(confint(r, df = dg))  # NaN for a domain with df = 0
        emit(by, keys, it, pair[1], "t", unname(coef(r)), unname(SE(r)), ci[1], ci[2],
             unname(deff(r)[1]), dg, n, n_excl,
             sprintf("confint(svymean(~%s, %s, deff=TRUE), df=degf(sub))", v, sub_call))
      }
    }
  }
}

# Cronbach's alpha with base R, unweighted (var) and weighted (cov.wt), overall and by county
alpha_of <- function(C) { k <- ncol(C); k / (k - 1) * (1 - sum(diag(C)) / sum(C)) }
feldt <- function(a, n, k) 1 - (1 - a) * qf(c(0.975, 0.025), n - 1, (n - 1) * (k - 1))
alphas <- character(0)
for (county in c("(all)", sort(unique(sv$county_code)))) {
  rows <- if (county == "(all)") rep(TRUE, nrow(sv)) else sv$county_code == county
  X <- as.matrix(sv[rows, paste0("s_", items)])
  w <- sv$weight[rows]
  cc <- complete.cases(X)
  X <- X[cc, ]; w <- w[cc]
  for (wt in c("none", "weight")) {
    C <- if (wt == "none") var(X) else cov.wt(X, wt = w)$cov
    out <- c(alpha_of(C), sapply(seq_along(items), function(j) alpha_of(C[-j, -j])))
    lo <- c(feldt(out[1], nrow(X), 6)[1], sapply(out[-1], function(a) feldt(a, nrow(X), 5)[1]))
    hi <- c(feldt(out[1], nrow(X), 6)[2], sapply(out[-1], function(a) feldt(a, nrow(X), 5)[2]))
    alphas <- c(alphas, paste0(
      "    {", '"county_code": ', q(county), ', "weight": ', q(wt), ', "n": ', nrow(X),
      ', "n_excluded": ', sum(rows) - nrow(X),
      ', "item_dropped": [null, ', paste(q(items), collapse = ", "), "]",
      ', "alpha": [', paste(sapply(out, f), collapse = ", "), "]",
      ', "lower": [', paste(sapply(lo, f), collapse = ", "), "]",
      ', "upper": [', paste(sapply(hi, f), collapse = ", "), "]}"))
  }
}

cat("{\n")
cat('  "source": "', R.version.string, ', survey ', as.character(packageVersion("survey")), '",\n', sep = "")
cat('  "design": "svydesign(ids=~psu_w, strata=~stratum_w, weights=~weight, data=sv): stratum_w = year/township_code, psu_w = year/psu",\n')
cat('  "entries": [\n', paste(entries, collapse = ",\n"), "\n  ],\n", sep = "")
cat('  "alpha": [\n', paste(alphas, collapse = ",\n"), "\n  ]\n}\n", sep = "")
