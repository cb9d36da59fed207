# Reference values for evalkit.measures.models (svy_glm, svy_olr, svy_chisq), produced by R's survey package.
#
# svyglm in each family (gaussian, quasibinomial, quasipoisson) with strata, PSUs, an fpc, nested PSU ids and a
# domain (subset()), svyolr (proportional odds, MASS::polr parameterisation) and svychisq with both the
# second-order ("F", the default) and the first-order ("Chisq") Rao-Scott corrections, on the api data that ship
# with survey (the CSV copies in this folder) and on design_sample.csv (the sample province's survey in prefecture
# 0901, waves 2024 and 2025, written by design_extract.py; answers 8 = don't know and 9 = refused are set to NA
# here, and the model frame drops those rows as R does).
#
# Run from this folder (Debian: apt-get install r-cran-survey):
#     Rscript models.R > models_reference.json
# tests/test_models.py holds the matching Python call of each entry (by its id).
suppressMessages(library(survey))
suppressMessages(library(jsonlite))

rd <- function(f) {
  d <- read.csv(f, colClasses = c(cds = "character"), na.strings = c("", "NA"), stringsAsFactors = TRUE)
  names(d) <- gsub(".", "_", names(d), fixed = TRUE)  # the Python tests use the same names
  d
}
apistrat <- rd("apistrat.csv")
apiclus1 <- rd("apiclus1.csv")
apiclus2 <- rd("apiclus2.csv")
apistrat$wide <- as.numeric(apistrat$sch_wide == "Yes")
apiclus1$mealcat <- factor(1 + (apiclus1$meals > 25) + (apiclus1$meals > 50) + (apiclus1$meals > 75))
ext <- read.csv("design_sample.csv", colClasses = c(prefecture_code = "character", county_code = "character",
                                                    township_code = "character", psu = "character"),
                stringsAsFactors = TRUE)
ext$wave_stratum <- paste(ext$year, ext$township_code)  # each township a stratum in each wave
ext$wave_psu <- paste(ext$year, ext$psu)  # each village a PSU in each wave
for (q in c("q_overall", "q_access", "q_effect")) ext[[q]][ext[[q]] %in% c(8, 9)] <- NA
ext$satisfied <- as.numeric(ext$q_overall >= 4)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1s <- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apiclus1, nest = TRUE)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)  # two stages, both with an fpc
dlonely <- svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)  # counties with one district
dprov <- svydesign(id = ~wave_psu, strata = ~wave_stratum, weights = ~weight, data = ext)

# Tight convergence, so that the reference is the estimate itself and not where the optimiser stopped: glm's
# default stops at a relative deviance change of 1e-8 and svyolr's BFGS at a relative change of 1e-8 (which
# leaves a cut-point behind a level with one respondent off in the third figure).
tight <- glm.control(epsilon = 1e-14, maxit = 100)
olr_tight <- list(reltol = 1e-15, maxit = 10000)

entries <- list()
add <- function(e) entries[[length(entries) + 1]] <<- e

glm_entry <- function(id, call, design_name) {
  fit <- eval(parse(text = call))
  s <- coef(summary(fit))
  ci <- confint(fit)
  add(list(id = id, kind = "svyglm", design = design_name, r_call = call, terms = rownames(s),
           value = unname(s[, 1]), se = unname(s[, 2]), statistic = unname(s[, 3]), p = unname(s[, 4]),
           lower = unname(ci[, 1]), upper = unname(ci[, 2]), df = fit$df.residual,
           degf = degf(fit$survey.design), n = nrow(model.frame(fit))))
}

olr_entry <- function(id, call, design_name) {
  fit <- eval(parse(text = call))
  # svyolr's information is optim's Hessian by finite differences of the gradient, step 1e-3 by default,
  # which leaves some SEs off in the fourth figure; steps of 1e-5 (and 1e-6: the same to 8 figures) give the
  # analytical value
  olr_tight$ndeps <<- rep(1e-5, length(fit$coefficients) + length(fit$zeta))
  fit <- eval(parse(text = call))
  olr_tight$ndeps <<- NULL
  stopifnot(is.null(olr_tight$ndeps))
  s <- summary(fit)$coefficients
  add(list(id = id, kind = "svyolr", design = design_name, r_call = call, terms = rownames(s),
           value = unname(s[, 1]), se = unname(s[, 2]), statistic = unname(s[, 3]), df = fit$df.residual))
}

chisq_entry <- function(id, call, design_name) {
  tst <- eval(parse(text = call))
  par <- tst$parameter
  add(list(id = id, kind = "svychisq", design = design_name, r_call = call, value = unname(tst$statistic),
           ndf = unname(par[1]), ddf = if (length(par) > 1) unname(par[2]) else NULL,
           p = unname(tst$p.value), method = tst$method))
}

by_entry <- function(id, call, design_name) {
  r <- eval(parse(text = call))
  terms <- names(coef(svyglm(q_overall ~ urban_rural + factor(year), design = dprov)))
  add(list(id = id, kind = "svyby_svyglm", design = design_name, r_call = call, groups = as.character(r[[1]]),
           terms = terms, value = unname(as.matrix(r[, terms])), se = unname(as.matrix(r[, paste0("se.", terms)]))))
}

glm_entry("dstrat_gaussian", "svyglm(api00 ~ ell + meals + mobility, design = dstrat, control = tight)", "dstrat")
glm_entry("dstrat_quasibinomial", "svyglm(wide ~ ell + meals + stype, design = dstrat, family = quasibinomial(), control = tight)", "dstrat")
glm_entry("dclus1_quasipoisson", "svyglm(enroll ~ meals + stype, design = dclus1, family = quasipoisson(), control = tight)", "dclus1")
glm_entry("dclus2_quasibinomial", "svyglm(I(sch_wide == 'Yes') ~ ell + meals, design = dclus2, family = quasibinomial(), control = tight)", "dclus2")
glm_entry("dclus1s_gaussian", "svyglm(api00 ~ ell + meals + avg_ed, design = dclus1s, control = tight)", "dclus1s")
glm_entry("dclus1s_gaussian_domain", "svyglm(api00 ~ ell + meals, design = subset(dclus1s, comp_imp == 'Yes'), control = tight)", "dclus1s")
glm_entry("prov_gaussian", "svyglm(q_overall ~ group + urban_rural + factor(year), design = dprov, control = tight)", "dprov")
glm_entry("prov_quasibinomial", "svyglm(satisfied ~ urban_rural + factor(year), design = dprov, family = quasibinomial(), control = tight)", "dprov")
glm_entry("prov_quasipoisson", "svyglm(q_effect ~ urban_rural + group, design = dprov, family = quasipoisson(), control = tight)", "dprov")
glm_entry("prov_gaussian_domain", "svyglm(q_overall ~ group + factor(year), design = subset(dprov, urban_rural == 'rural'), control = tight)", "dprov")
glm_entry("prov_quasibinomial_domain", "svyglm(satisfied ~ factor(year), design = subset(dprov, group == 'general'), family = quasibinomial(), control = tight)", "dprov")

# each lonely-PSU rule in the matrix form of the variance (R's option survey.lonely.psu; "fail" is R's default)
for (rule in c("adjust", "average", "certainty", "remove")) {
  options(survey.lonely.psu = rule)
  glm_entry(paste0("dlonely_", rule), "svyglm(api00 ~ ell + meals, design = dlonely, control = tight)", "dlonely")
  entries[[length(entries)]]$lonely_psu <- rule
}
options(survey.lonely.psu = "fail")

by_entry("prov_gaussian_by_county", "svyby(q_overall ~ urban_rural + factor(year), ~county_code, dprov, svyglm)", "dprov")

olr_entry("dclus1_olr", "svyolr(mealcat ~ avg_ed + mobility + stype, design = dclus1, control = olr_tight)", "dclus1")
olr_entry("prov_olr", "svyolr(factor(q_overall) ~ urban_rural + factor(year), design = dprov, control = olr_tight)", "dprov")
olr_entry("prov_olr_domain", "svyolr(factor(q_access) ~ factor(year), design = subset(dprov, urban_rural == 'rural'), control = olr_tight)", "dprov")

for (stat in c("F", "Chisq")) {
  chisq_entry(paste0("dclus1_chisq_", stat), sprintf("svychisq(~sch_wide + stype, dclus1, statistic = '%s')", stat), "dclus1")
  chisq_entry(paste0("dstrat_chisq_", stat), sprintf("svychisq(~comp_imp + stype, dstrat, statistic = '%s')", stat), "dstrat")
  chisq_entry(paste0("prov_chisq_", stat), sprintf("svychisq(~urban_rural + q_overall, dprov, statistic = '%s')", stat), "dprov")
  chisq_entry(paste0("prov_chisq_domain_", stat), sprintf("svychisq(~group + satisfied, subset(dprov, year == 2024), statistic = '%s')", stat), "dprov")
}

cat(toJSON(list(about = paste0("Reference values from ", R.version.string, ", survey ", packageVersion("survey"),
                               ", MASS ", packageVersion("MASS"), ", made by models.R in this folder."),
                entries = entries), auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"))
cat("\n")
