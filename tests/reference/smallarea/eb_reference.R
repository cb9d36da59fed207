# Independent reference values for evalkit.measures.smallarea (beta-binomial empirical Bayes),
# computed in base R from the closed forms: Kleinman's (1973) moment estimator of the beta prior
# and the conjugate posterior Beta(a + x, b + n - x) with qbeta() quantiles.
# Run:  cd tests/reference/smallarea && Rscript eb_reference.R > eb_reference.csv
kleinman <- function(x, n) {
  N <- sum(n); k <- length(n); m <- sum(x) / N; p <- x / n
  S <- sum(n * (p - m)^2)
  rho <- (S / (m * (1 - m)) - (k - 1)) / (N - sum(n^2) / N - (k - 1))
  size <- 1 / rho - 1
  if (!is.finite(size) || size <= 0 || size > N) size <- N   # cap: no more information than the data
  c(mean = m, size = size)
}
cases <- list(
  # a known prior Beta(2, 3): mean 0.4, size 5 (no estimation)
  list(id = "known_prior", x = c(0, 3, 7, 10), n = c(10, 10, 10, 10), prior = c(mean = 0.4, size = 5)),
  # equal sizes: rho = (n s^2 / (m (1 - m)) - 1) / (n - 1)
  list(id = "equal_n", x = c(10, 12, 14, 16), n = c(20, 20, 20, 20), prior = NULL),
  # unequal sizes, satisfaction-like rates
  list(id = "unequal_n", x = c(9, 18, 45, 10, 52, 3, 30, 14), n = c(12, 20, 50, 15, 60, 4, 31, 22), prior = NULL),
  # no spread beyond binomial: every unit at 50%, so the prior size is capped at N = 60
  list(id = "no_spread", x = c(5, 10, 15), n = c(10, 20, 30), prior = NULL)
)
cat("case,unit,x,n,prior_mean,prior_size,shrinkage,value,confidence,lower,upper\n")
for (cs in cases) {
  pr <- if (is.null(cs$prior)) kleinman(cs$x, cs$n) else cs$prior
  a <- pr[["mean"]] * pr[["size"]]; b <- (1 - pr[["mean"]]) * pr[["size"]]
  for (i in seq_along(cs$x)) for (level in c(0.95, 0.998)) {
    pa <- a + cs$x[i]; pb <- b + cs$n[i] - cs$x[i]
    cat(sprintf("%s,%d,%.15g,%.15g,%.15g,%.15g,%.15g,%.15g,%g,%.15g,%.15g\n", cs$id, i, cs$x[i], cs$n[i],
                pr[["mean"]], pr[["size"]], pr[["size"]] / (pr[["size"]] + cs$n[i]), pa / (pa + pb), level,
                qbeta((1 - level) / 2, pa, pb), qbeta(1 - (1 - level) / 2, pa, pb)))
  }
}
