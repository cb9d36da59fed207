# Reference values for evalkit.measures.design (SurveyDesign), produced by R's survey package.
#
# Every method of the design object: svymean, svytotal, svyratio, svyciprop with each of its methods
# (logit, likelihood, asin, beta, mean, xlogit), svyquantile (survey 4.x defaults: interval.type="mean",
# qrule="math"), svyby(..., covmat=TRUE) with svycontrast, and subset() domains; on the extract of the
# sample province's survey (design_sample.csv, written by design_extract.py) and on the api data of R's
# survey package (the CSV copies in this folder).
#
# Run from this folder (Debian: apt-get install r-cran-survey r-cran-jsonlite):
#     Rscript design.R > design_reference.json
# (svyby(..., covmat=TRUE) fails with na.rm=TRUE and missing values in survey 4.1-1, so those calls
# analyse subset(design, !is.na(y)), which is the same domain: rows without an answer are outside it.)
# Each entry keeps the R call that made it and, under "py", the SurveyDesign call the tests make.
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "adjust")

# --- the sample province: strata wave x township, PSUs wave x village; 8 and 9 are missing ---
s <- read.csv("design_sample.csv", colClasses = c(prefecture_code = "character", county_code = "character",
                                                  township_code = "character", psu = "character"))
for (item in c("q_overall", "q_access", "q_effect")) s[[item]][s[[item]] %in% c(8, 9)] <- NA
s$stratum <- paste(s$year, s$township_code, sep = "/")
s$cluster <- paste(s$year, s$psu, sep = "/")
ds <- svydesign(ids = ~cluster, strata = ~stratum, weights = ~weight, data = s)
ds25 <- svydesign(ids = ~cluster, strata = ~stratum, weights = ~weight, data = s[s$year == 2025, ])

# --- the api data ---
rd <- function(f) read.csv(f, colClasses = c(cds = "character"), na.strings = c("", "NA"), stringsAsFactors = TRUE)
apistrat <- rd("apistrat.csv")
apiclus1 <- rd("apiclus1.csv")
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)

entries <- list()
add <- function(id, design, r_call, py, value, se = NULL, lower = NULL, upper = NULL) {
  e <- list(id = id, design = design, r_call = r_call, py = py, value = unname(as.numeric(value)))
  if (!is.null(se)) e$se <- unname(as.numeric(se))
  if (!is.null(lower)) { e$lower <- unname(as.numeric(lower)); e$upper <- unname(as.numeric(upper)) }
  entries[[length(entries) + 1]] <<- e
}
run <- function(r_call) eval(parse(text = r_call))
stat <- function(id, design, r_call, py, row = NULL) {
  res <- run(r_call)
  if (is.null(row)) add(id, design, r_call, py, coef(res)[1], SE(res)[1])
  else {
    k <- which(names(coef(res)) == row[[1]])
    add(id, design, r_call, c(py, list(row = row)), coef(res)[k], SE(res)[k])
  }
}
ciprop <- function(id, design, r_call, py) {
  res <- run(r_call)
  ci <- confint(res)
  add(id, design, r_call, py, coef(res), SE(res), ci[1], ci[2])
}
# svyby(..., svyciprop) keeps svyciprop's intervals in the columns ci_l and ci_u (vartype "ci");
# confint() of the svyby object would give Wald intervals from the SEs instead
byprop <- function(id, design, r_call, py, row) {
  res <- run(r_call)
  k <- which(rownames(res) == row[[1]])
  add(id, design, r_call, c(py, list(row = row)), coef(res)[k], SE(res)[k], res$ci_l[k], res$ci_u[k])
}
quant <- function(id, design, r_call, py, which = 1) {
  res <- run(r_call)[[1]]
  add(id, design, r_call, c(py, list(quantile_row = which - 1)), res[which, 1], res[which, 4],
      res[which, 2], res[which, 3])
}
contrast <- function(id, design, r_call, py) {
  res <- run(r_call)
  add(id, design, r_call, py, coef(res), SE(res))
}
P <- function(fn, args, kwargs = list(), subset = NULL) {
  p <- list(fn = fn, args = args, kwargs = kwargs)
  if (!is.null(subset)) p$subset <- subset
  p
}

# --- sample province ---
for (yr in c("2024", "2025"))
  stat(paste0("sample_mean_by_year_", yr), "sample",
       "svyby(~q_overall, ~year, ds, svymean, na.rm = TRUE)", P("mean", list("q_overall"), list(by = "year")),
       row = list(year = yr))
stat("sample25_mean_overall", "sample2025", "svymean(~q_overall, ds25, na.rm = TRUE)", P("mean", list("q_overall")))
stat("sample25_mean_effect", "sample2025", "svymean(~q_effect, ds25, na.rm = TRUE)", P("mean", list("q_effect")))
stat("sample25_total_satisfied", "sample2025", "svytotal(~as.numeric(q_overall >= 4), ds25, na.rm = TRUE)",
     P("total", list("q_overall >= 4")))
stat("sample25_ratio_access_overall", "sample2025", "svyratio(~q_access, ~q_overall, ds25, na.rm = TRUE)",
     P("ratio", list("q_access", "q_overall")))
for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit"))
  ciprop(paste0("sample25_ciprop_", m), "sample2025",
         sprintf("svyciprop(~I(q_overall >= 4), ds25, method = '%s', na.rm = TRUE)", m),
         P("prop", list("q_overall >= 4"), list(method = m)))
for (m in c("logit", "beta", "likelihood"))
  for (ur in c("rural", "urban"))
    byprop(paste0("sample25_by_urban_rural_", m, "_", ur), "sample2025",
           sprintf("svyby(~I(q_overall >= 4), ~urban_rural, ds25, svyciprop, method = '%s', na.rm = TRUE, vartype = c('se', 'ci'))", m),
           P("prop", list("q_overall >= 4"), list(method = m, by = "urban_rural")), row = list(urban_rural = ur))
ciprop("sample25_subset_dibao_asin", "sample2025",
       "svyciprop(~I(q_overall >= 4), subset(ds25, group == 'dibao'), method = 'asin', na.rm = TRUE)",
       P("prop", list("q_overall >= 4"), list(method = "asin"), subset = "group == 'dibao'"))
ciprop("sample25_subset_dibao_likelihood", "sample2025",
       "svyciprop(~I(q_overall >= 4), subset(ds25, group == 'dibao'), method = 'likelihood', na.rm = TRUE)",
       P("prop", list("q_overall >= 4"), list(method = "likelihood"), subset = "group == 'dibao'"))
stat("sample25_subset_rural_mean", "sample2025", "svymean(~q_overall, subset(ds25, urban_rural == 'rural'), na.rm = TRUE)",
     P("mean", list("q_overall"), subset = "urban_rural == 'rural'"))
stat("sample_subset_2025_mean", "sample", "svymean(~q_overall, subset(ds, year == 2025), na.rm = TRUE)",
     P("mean", list("q_overall"), subset = "year == 2025"))
quant("sample25_quantile_population_q25", "sample2025",
      "svyquantile(~population, ds25, quantiles = c(0.25, 0.5), na.rm = TRUE)",
      P("quantile", list("population", list(0.25, 0.5))), 1)
quant("sample25_quantile_population_q50", "sample2025",
      "svyquantile(~population, ds25, quantiles = c(0.25, 0.5), na.rm = TRUE)",
      P("quantile", list("population", list(0.25, 0.5))), 2)
quant("sample25_quantile_weight_rural", "sample2025",
      "svyquantile(~weight, subset(ds25, urban_rural == 'rural'), quantiles = 0.5, na.rm = TRUE)",
      P("quantile", list("weight", 0.5), subset = "urban_rural == 'rural'"))
contrast("sample25_contrast_dibao_general", "sample2025",
         "svycontrast(svyby(~q_overall, ~group, subset(ds25, !is.na(q_overall)), svymean, covmat = TRUE), c(dibao = 1, general = -1))",
         P("contrast", list("q_overall", "group", list(dibao = 1, general = -1))))
contrast("sample_contrast_2025_2024", "sample",
         "svycontrast(svyby(~q_overall, ~year, subset(ds, !is.na(q_overall)), svymean, covmat = TRUE), c(`2025` = 1, `2024` = -1))",
         P("contrast", list("q_overall", "year", list(`2025` = 1, `2024` = -1))))
contrast("sample25_contrast_satisfied_urban_rural", "sample2025",
         "svycontrast(svyby(~as.numeric(q_overall >= 4), ~urban_rural, subset(ds25, !is.na(q_overall)), svymean, covmat = TRUE), c(urban = 1, rural = -1))",
         P("contrast", list("q_overall >= 4", "urban_rural", list(urban = 1, rural = -1))))
b <- svyby(~q_overall, ~group, subset(ds25, !is.na(q_overall)), svymean, covmat = TRUE)
add("sample25_covariance_dibao_general", "sample2025",
    "vcov(svyby(~q_overall, ~group, subset(ds25, !is.na(q_overall)), svymean, covmat = TRUE))['dibao', 'general']",
    P("covariance", list("q_overall", "group"), list(), NULL), vcov(b)["dibao", "general"])
entries[[length(entries)]]$py$cell <- list("dibao", "general")

# --- api data ---
stat("dstrat_mean_api00", "dstrat", "svymean(~api00, dstrat)", P("mean", list("api00")))
stat("dstrat_total_enroll", "dstrat", "svytotal(~enroll, dstrat)", P("total", list("enroll")))
stat("dstrat_ratio_api_stu_enroll", "dstrat", "svyratio(~api.stu, ~enroll, dstrat)", P("ratio", list("api.stu", "enroll")))
for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit"))
  ciprop(paste0("dstrat_ciprop_", m), "dstrat", sprintf("svyciprop(~I(sch.wide == 'Yes'), dstrat, method = '%s')", m),
         P("prop", list("sch.wide"), list(level = "Yes", method = m)))
for (m in c("likelihood", "xlogit", "asin", "beta"))
  ciprop(paste0("dclus1_ciprop_", m), "dclus1", sprintf("svyciprop(~I(both == 'Yes'), dclus1, method = '%s')", m),
         P("prop", list("both"), list(level = "Yes", method = m)))
ciprop("dstrat_subset_high_likelihood", "dstrat",
       "svyciprop(~I(sch.wide == 'Yes'), subset(dstrat, stype == 'H'), method = 'likelihood')",
       P("prop", list("sch.wide"), list(level = "Yes", method = "likelihood"), subset = "stype == 'H'"))
ciprop("dclus1_subset_middle_mean", "dclus1",
       "svyciprop(~I(both == 'Yes'), subset(dclus1, stype == 'M'), method = 'mean')",
       P("prop", list("both"), list(level = "Yes", method = "mean"), subset = "stype == 'M'"))
quant("dstrat_quantile_api00_q25", "dstrat", "svyquantile(~api00, dstrat, quantiles = c(0.25, 0.5))",
      P("quantile", list("api00", list(0.25, 0.5))), 1)
quant("dstrat_quantile_api00_q50", "dstrat", "svyquantile(~api00, dstrat, quantiles = c(0.25, 0.5))",
      P("quantile", list("api00", list(0.25, 0.5))), 2)
quant("dclus1_quantile_api00_q50", "dclus1", "svyquantile(~api00, dclus1, quantiles = 0.5)",
      P("quantile", list("api00", 0.5)))
quant("dclus1_quantile_enroll_q90", "dclus1", "svyquantile(~enroll, dclus1, quantiles = 0.9, na.rm = TRUE)",
      P("quantile", list("enroll", 0.9)))
contrast("dstrat_contrast_e_h", "dstrat",
         "svycontrast(svyby(~api00, ~stype, dstrat, svymean, covmat = TRUE), c(E = 1, H = -1))",
         P("contrast", list("api00", "stype", list(E = 1, H = -1))))
contrast("dclus1_contrast_e_m", "dclus1",
         "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE), c(E = 1, M = -1))",
         P("contrast", list("api00", "stype", list(E = 1, M = -1))))
contrast("dclus1_contrast_mean_of_e_m_minus_h", "dclus1",
         "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE), c(E = 0.5, M = 0.5, H = -1))",
         P("contrast", list("api00", "stype", list(E = 0.5, M = 0.5, H = -1))))
contrast("dclus1_contrast_total_e_m", "dclus1",
         "svycontrast(svyby(~enroll, ~stype, dclus1, svytotal, covmat = TRUE), c(E = 1, M = -1))",
         P("contrast", list("enroll", "stype", list(E = 1, M = -1)), list(statistic = "total")))

cat(toJSON(list(about = paste("R ", R.version$major, ".", R.version$minor, ", survey ",
                              as.character(packageVersion("survey")), sep = ""),
                entries = entries), auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"))
cat("\n")
