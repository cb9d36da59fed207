# Extra reference values for evalkit.measures.survey, produced by R's survey package.
#
# Covers what ../reference.json does not: two-stage designs (fpc=~fpc1+fpc2), design effects,
# Korn-Graubard (beta) intervals, every lonely-PSU rule, domains defined by subset() and svyby()
# (including svyby(..., svyciprop), whose df is the domain's degf), totals and ratios by domain,
# clusters whose values are all missing under na.rm=TRUE, and an fpc given as a sampling fraction.
#
# Run from this folder (Debian: apt-get install r-cran-survey):
#     Rscript extra_reference.R > extra_reference.json
# The data are the CSV copies one folder up, so the numbers belong to exactly those files.
# Each entry keeps the R call that made it; the Python tests parse that call.
suppressMessages(library(survey))

rd <- function(f) read.csv(file.path("..", f), colClasses = c(cds = "character"),
                           na.strings = c("", "NA"), stringsAsFactors = TRUE)
apistrat <- rd("apistrat.csv")
apiclus1 <- rd("apiclus1.csv")
apiclus2 <- rd("apiclus2.csv")
fpc <- read.csv(file.path("..", "fpc.csv"))

designs <- list(
  dstrat = list(data = "apistrat.csv", ids = "~1", strata = "~stype", weights = "~pw", fpc = "~fpc", nest = FALSE,
                obj = svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)),
  dclus1 = list(data = "apiclus1.csv", ids = "~dnum", strata = NULL, weights = "~pw", fpc = "~fpc", nest = FALSE,
                obj = svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)),
  dclus2 = list(data = "apiclus2.csv", ids = "~dnum+snum", strata = NULL, weights = NULL, fpc = "~fpc1+fpc2", nest = FALSE,
                obj = svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)),
  dclus2uc = list(data = "apiclus2.csv", ids = "~dnum+snum", strata = NULL, weights = "~pw", fpc = NULL, nest = FALSE,
                  obj = svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)),
  dlonely = list(data = "apiclus1.csv", ids = "~dnum", strata = "~cname", weights = "~pw", fpc = NULL, nest = FALSE,
                 obj = svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)),
  dclus2lonely = list(data = "apiclus2.csv", ids = "~dnum+snum", strata = NULL, weights = NULL, fpc = "~fpc1+I(fpc2+1)", nest = FALSE,
                      obj = svydesign(id = ~dnum + snum, fpc = ~fpc1 + I(fpc2 + 1), data = apiclus2)),
  dfrac = list(data = "fpc.csv", ids = "~psuid", strata = "~stratid", weights = "~weight", fpc = "~I(nh/Nh)", nest = TRUE,
               obj = svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, fpc = ~I(nh/Nh), data = fpc, nest = TRUE))
)
for (nm in names(designs)) assign(nm, designs[[nm]]$obj)

q <- function(x) if (is.null(x)) "null" else if (is.logical(x)) tolower(as.character(x)) else
  if (is.character(x)) paste0('"', gsub('"', '\\\\"', x), '"') else sprintf("%.15g", x)

entries <- character(0)
# r_call: evaluated as written; row: the svyby row (domain level) to keep; rule: survey.lonely.psu
emit <- function(id, dname, statistic, variable, r_call, row = NULL, rule = "fail", level = 0.95) {
  d <- designs[[dname]]
  options(survey.lonely.psu = rule)
  res <- eval(parse(text = r_call))
  est <- coef(res); se <- SE(res); ci <- NULL
  dfx <- if (grepl("deff=TRUE", r_call)) deff(res) else NULL
  if (inherits(res, "svyciprop")) {
    se <- sqrt(attr(res, "var")); ci <- attr(res, "ci")
  } else if (inherits(res, "svyby")) {
    k <- match(row, rownames(as.data.frame(res)))
    est <- est[k]; se <- se[k]; if (!is.null(dfx)) dfx <- dfx[k]
    # svyciprop's own interval is in ci_l/ci_u; confint() on an svyby object is a Wald interval
    if (grepl("svyciprop", r_call)) ci <- unlist(as.data.frame(res)[k, c("ci_l", "ci_u")])
  } else if (inherits(res, "svyratio")) {
    est <- res$ratio[1, 1]; se <- sqrt(res$var[1, 1])
  }
  if (!is.null(dfx)) dfx <- unname(as.vector(dfx))[1]
  design <- sprintf('{"ids": %s, "strata": %s, "weights": %s, "fpc": %s, "nest": %s}',
                    q(d$ids), q(d$strata), q(d$weights), q(d$fpc), q(d$nest))
  fields <- c(sprintf('"id": %s', q(id)), sprintf('"dataset": %s', q(d$data)),
              sprintf('"design_name": %s', q(dname)), sprintf('"design": %s', design),
              sprintf('"lonely_psu": %s', q(rule)), sprintf('"degf": %d', degf(d$obj)),
              sprintf('"statistic": %s', q(statistic)), sprintf('"variable": %s', q(variable)),
              sprintf('"r_call": %s', q(paste0(r_call, if (!is.null(row)) paste0(" -> row ", row) else ""))),
              sprintf('"estimate_full": %s', q(unname(est[1]))), sprintf('"se_full": %s', q(unname(se[1]))))
  if (!is.null(dfx)) fields <- c(fields, sprintf('"deff_full": %s', q(dfx)))
  if (!is.null(ci)) {
    m <- if (grepl("beta", r_call)) "beta" else if (grepl("svyciprop", r_call)) "logit" else "wald"
    fields <- c(fields, sprintf('"ci": {"level": %s, "method": %s, "lcl_full": %s, "ucl_full": %s}',
                                q(level), q(m), q(unname(ci[1])), q(unname(ci[2]))))
  }
  entries <<- c(entries, paste0("  {", paste(fields, collapse = ", "), "}"))
}

# two-stage cluster sample with both fpcs, and the same sample as an ultimate-cluster design
emit("dclus2_svymean_api00", "dclus2", "svymean", "api00", "svymean(~api00, dclus2, deff=TRUE)")
emit("dclus2_svytotal_enroll", "dclus2", "svytotal", "enroll", "svytotal(~enroll, dclus2, na.rm=TRUE, deff=TRUE)")
emit("dclus2_svyratio_api.stu_enroll", "dclus2", "svyratio", "api.stu/enroll", "svyratio(~api.stu, ~enroll, dclus2, na.rm=TRUE, deff=TRUE)")
for (s in c("E", "H", "M"))
  emit(paste0("dclus2_svyby_api00_stype", s), "dclus2", "svyby(svymean)", paste0("api00 | stype=", s),
       "svyby(~api00, ~stype, dclus2, svymean, deff=TRUE)", row = s)
emit("dclus2uc_svymean_api00", "dclus2uc", "svymean", "api00", "svymean(~api00, dclus2uc, deff=TRUE)")
emit("dclus2_svyciprop_beta_bothNo", "dclus2", "svyciprop(method='beta')", "I(both=='No')",
     "svyciprop(~I(both=='No'), dclus2, method='beta')")

# design effects on one-stage designs
emit("dstrat_svymean_api00_deff", "dstrat", "svymean", "api00", "svymean(~api00, dstrat, deff=TRUE)")
emit("dstrat_svytotal_enroll_deff", "dstrat", "svytotal", "enroll", "svytotal(~enroll, dstrat, deff=TRUE)")
emit("dclus1_svymean_api00_deff", "dclus1", "svymean", "api00", "svymean(~api00, dclus1, deff=TRUE)")
emit("dclus1_svyratio_deff", "dclus1", "svyratio", "api.stu/enroll", "svyratio(~api.stu, ~enroll, dclus1, deff=TRUE)")
emit("dclus1_svyby_api00_stypeM_deff", "dclus1", "svyby(svymean)", "api00 | stype=M",
     "svyby(~api00, ~stype, dclus1, svymean, deff=TRUE)", row = "M")
emit("dstrat_svyby_enroll_total_stypeM", "dstrat", "svyby(svytotal)", "enroll | stype=M",
     "svyby(~enroll, ~stype, dstrat, svytotal, deff=TRUE)", row = "M")
emit("dclus1_svyby_ratio_stypeE", "dclus1", "svyby(svyratio)", "api.stu/enroll | stype=E",
     "svyby(~api.stu, ~stype, denominator=~enroll, design=dclus1, svyratio)", row = "E")

# proportions: Korn-Graubard, logit at other levels, Wald (normal quantile)
emit("dclus1_svyciprop_beta_bothNo", "dclus1", "svyciprop(method='beta')", "I(both=='No')",
     "svyciprop(~I(both=='No'), dclus1, method='beta')")
emit("dstrat_svyciprop_beta_yr.rndNo_90", "dstrat", "svyciprop(method='beta')", "I(yr.rnd=='No')",
     "svyciprop(~I(yr.rnd=='No'), dstrat, method='beta', level=0.9)", level = 0.9)
emit("dclus1_svyciprop_logit_awardsYes_99", "dclus1", "svyciprop(method='logit')", "I(awards=='Yes')",
     "svyciprop(~I(awards=='Yes'), dclus1, method='logit', level=0.99)", level = 0.99)
emit("dclus1_svyciprop_logit_awardsYes_subsetM", "dclus1", "svyciprop(method='logit') on subset (domain)",
     "I(awards=='Yes') | stype=='M'", "svyciprop(~I(awards=='Yes'), subset(dclus1, stype=='M'), method='logit')")
for (s in c("E", "M"))
  emit(paste0("dclus1_svyby_svyciprop_beta_bothNo_stype", s), "dclus1", "svyby(svyciprop(method='beta'))",
       paste0("I(both=='No') | stype=", s),
       "svyby(~I(both=='No'), ~stype, dclus1, svyciprop, vartype=c('se','ci'), method='beta')", row = s)
emit("dclus1_svyby_svyciprop_logit_bothNo_stypeH", "dclus1", "svyby(svyciprop(method='logit'))",
     "I(both=='No') | stype=H",
     "svyby(~I(both=='No'), ~stype, dclus1, svyciprop, vartype=c('se','ci'), method='logit')", row = "H")

# domains through subset(), and clusters whose values are all missing (na.rm=TRUE)
emit("dstrat_subset_svymean_api00_schwideYes", "dstrat", "svymean on subset (domain)", "api00 | sch.wide=='Yes'",
     "svymean(~api00, subset(dstrat, sch.wide=='Yes'), deff=TRUE)")
emit("dclus1_subset_svytotal_enroll_stypeH", "dclus1", "svytotal on subset (domain)", "enroll | stype=='H'",
     "svytotal(~enroll, subset(dclus1, stype=='H'), deff=TRUE)")
emit("dclus1_svymean_acs.core_narm", "dclus1", "svymean", "acs.core", "svymean(~acs.core, dclus1, na.rm=TRUE)")
emit("dclus1_svytotal_acs.core_narm", "dclus1", "svytotal", "acs.core", "svytotal(~acs.core, dclus1, na.rm=TRUE)")

# fpc given as a sampling fraction
emit("dfrac_svymean_x", "dfrac", "svymean", "x", "svymean(~x, dfrac)")

# lonely PSUs: counties as strata in the one-stage cluster sample, 8 counties have one district
for (rule in c("adjust", "average", "certainty", "remove")) {
  emit(paste0("dlonely_", rule, "_svymean_api00"), "dlonely", "svymean", "api00",
       "svymean(~api00, dlonely, deff=TRUE)", rule = rule)
  emit(paste0("dlonely_", rule, "_svytotal_enroll"), "dlonely", "svytotal", "enroll",
       "svytotal(~enroll, dlonely)", rule = rule)
  emit(paste0("dlonely_", rule, "_svyby_api00_stypeM"), "dlonely", "svyby(svymean)", "api00 | stype=M",
       "svyby(~api00, ~stype, dlonely, svymean)", row = "M", rule = rule)
}

# lonely units at stage 2: one more school per district than recorded makes every district with
# one sampled school a lonely second-stage stratum (at stage 2 R's "average" gives NaN)
for (rule in c("adjust", "remove"))
  emit(paste0("dclus2lonely_", rule, "_svymean_api00"), "dclus2lonely", "svymean", "api00",
       "svymean(~api00, dclus2lonely)", rule = rule)

cat(sprintf('{\n "about": "Extra reference values from R %s, survey %s, made by extra_reference.R in this folder from the CSV files one folder up.",\n "entries": [\n%s\n ]\n}\n',
            paste(R.version$major, R.version$minor, sep = "."), as.character(packageVersion("survey")),
            paste(entries, collapse = ",\n")))
