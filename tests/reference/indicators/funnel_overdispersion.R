# Independent reference values for evalkit.measures.funnel (funnel plots with overdispersion on a
# variance-stabilising scale), in base R only, written from the published algorithm:
#   Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202
#   (transformations and their standard errors, additive random-effects limits), and
#   Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care
#   2005;14:347-351 (Winsorised z-scores, phi = mean of squared Winsorised z, tau^2 moment estimate),
# with the choices FunnelPlotR documents: 10% Winsorisation in each tail at R's default quantiles,
# tau^2 = 0 when n*phi < n - 1, and no adjustment drawn when phi <= 1.
# Run (from the repository root; R 4.2, no packages):
#   Rscript tests/reference/indicators/funnel_overdispersion.R > tests/reference/indicators/funnel_overdispersion.csv
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

g <- function(stat, v) switch(stat, proportion = asin(sqrt(v)), ratio = log(v), rate = sqrt(v))
ginv <- function(stat, v) switch(stat,
  proportion = sin(pmin(pmax(v, 0), pi / 2))^2,    # a limit beyond [0, 1] ends at 0 or 1
  ratio = exp(v),
  rate = pmax(v, 0)^2)
se <- function(stat, n) if (stat == "ratio") 1 / sqrt(n) else 1 / (2 * sqrt(n))

out <- data.frame()
emit <- function(dataset, stat, quantity, area, denominator, confidence, value) {
  out <<- rbind(out, data.frame(dataset = dataset, statistic = stat, quantity = quantity, area = area,
                                denominator = denominator, confidence = confidence, value = value))
}

reference <- function(dataset, stat, area, x, n, axis, target = NULL, trim = 0.1) {
  if (is.null(target)) target <- if (stat == "ratio") 1 else sum(x) / sum(n)
  y <- g(stat, x / n)
  s <- se(stat, n)
  z <- (y - g(stat, target)) / s
  q <- quantile(z, c(trim, 1 - trim))          # type 7
  zw <- ifelse(z < q[1], q[1], ifelse(z > q[2], q[2], z))
  k <- length(z)
  phi <- sum(zw^2) / k
  w <- 1 / s^2
  tau2 <- if (k * phi < k - 1) 0 else (k * phi - (k - 1)) / (sum(w) - sum(w^2) / sum(w))
  used_phi <- if (phi > 1) phi else 1
  used_tau2 <- if (phi > 1) tau2 else 0
  emit(dataset, stat, "target", NA, NA, NA, target)
  emit(dataset, stat, "phi", NA, NA, NA, phi)
  emit(dataset, stat, "tau2", NA, NA, NA, tau2)
  emit(dataset, stat, "areas", NA, NA, NA, k)
  emit(dataset, stat, "trim", NA, NA, NA, trim)
  sd <- list(none = s, multiplicative = sqrt(used_phi) * s, additive = sqrt(s^2 + used_tau2))
  emit(dataset, stat, "z", area, n, NA, z)
  emit(dataset, stat, "z_winsorised", area, n, NA, zw)
  for (adj in c("multiplicative", "additive"))
    emit(dataset, stat, paste0("z_", adj), area, n, NA, (y - g(stat, target)) / sd[[adj]])
  for (conf in c(0.95, 0.998)) {
    zq <- qnorm(1 - (1 - conf) / 2)
    sa <- se(stat, axis)
    spread <- list(none = sa, multiplicative = sqrt(used_phi) * sa, additive = sqrt(sa^2 + used_tau2))
    for (adj in names(spread)) {
      emit(dataset, stat, paste0("lower_", adj), NA, axis, conf, ginv(stat, g(stat, target) - zq * spread[[adj]]))
      emit(dataset, stat, paste0("upper_", adj), NA, axis, conf, ginv(stat, g(stat, target) + zq * spread[[adj]]))
    }
  }
}

# 1. proportions: PHE's 303 areas (tests/reference/indicators/funnel_proportion_inputs.csv), pooled target,
#    and the same areas around a given target
phe <- read.csv(file.path(here, "funnel_proportion_inputs.csv"), stringsAsFactors = FALSE)
prop_axis <- c(3, 10, 30, 100, 1000, 10000, 41980, 100000)
reference("phe_proportions", "proportion", phe$Area, phe$numerator, phe$denominator, prop_axis)
reference("phe_proportions_target", "proportion", phe$Area, phe$numerator, phe$denominator, prop_axis,
          target = 0.81, trim = 0.05)

# 2. an SMR-like ratio: observed and expected deaths of 24 hospitals (invented, fixed here)
observed <- c(12, 30, 30, 8, 60, 22, 125, 17, 41, 5, 70, 33, 190, 15, 54, 11, 110, 39, 19, 85, 88, 7, 48, 29)
expected <- c(10.2, 25.7, 51.3, 9.8, 48.1, 24.4, 80.6, 12.9, 44.0, 6.3, 72.5, 27.1, 131.8, 30.2, 49.9, 13.5,
              70.4, 41.6, 15.2, 128.7, 50.3, 9.1, 46.7, 22.8)
hospitals <- sprintf("H%02d", seq_along(observed))
reference("smr", "ratio", hospitals, observed, expected, c(1.1, 2, 5, 10, 20, 50, 100, 200))

# 3. a rate: events (one zero) over population in 20 areas (invented, fixed here)
events <- c(0, 3, 14, 9, 27, 41, 6, 18, 55, 33, 12, 71, 24, 8, 39, 15, 62, 21, 4, 47)
population <- c(1800, 2500, 9100, 7400, 15800, 21000, 6100, 9900, 30500, 17200, 8800, 36100, 14900, 5300,
                19800, 12100, 28400, 11700, 3900, 25600)
reference("rates", "rate", sprintf("A%02d", seq_along(events)), events, population,
          c(100, 1000, 5000, 10000, 50000, 100000))

for (col in c("denominator", "confidence", "value"))
  out[[col]] <- ifelse(is.na(out[[col]]), "", sprintf("%.17g", out[[col]]))
write.csv(out, stdout(), row.names = FALSE, quote = 4, na = "")   # area names hold commas: quoted
