# Independent computation of the principal eigenvector and eigenvalue of Saaty's worked examples
# with base R's eigen() (LAPACK), to check both the transcription of the matrices and evalkit.
# Run:  cd tests/reference/ahp && Rscript ahp_eigen.R > ahp_eigen.csv
frac <- function(s) sapply(strsplit(s, "/"), function(p) if (length(p) == 2) as.numeric(p[1]) / as.numeric(p[2]) else as.numeric(p))
mat <- function(rows) matrix(frac(unlist(rows)), nrow = length(rows), byrow = TRUE)
examples <- list(
  house = mat(list(c("1","5","3","7","6","6","1/3","1/4"), c("1/5","1","1/3","5","3","3","1/5","1/7"),
                   c("1/3","3","1","6","3","4","6","1/5"), c("1/7","1/5","1/6","1","1/3","1/4","1/7","1/8"),
                   c("1/6","1/3","1/3","3","1","1/2","1/5","1/6"), c("1/6","1/3","1/4","4","2","1","1/5","1/6"),
                   c("3","5","1/6","7","5","5","1","1/2"), c("4","7","5","8","6","6","2","1"))),
  wealth_of_nations = mat(list(c("1","4","9","6","6","5","5"), c("1/4","1","7","5","5","3","4"),
                               c("1/9","1/7","1","1/5","1/5","1/7","1/5"), c("1/6","1/5","5","1","1","1/3","1/3"),
                               c("1/6","1/5","5","1","1","1/3","1/3"), c("1/5","1/3","7","3","3","1","2"),
                               c("1/5","1/4","5","3","3","1/2","1"))),
  drinks = mat(list(c("1","9","5","2","1","1","1/2"), c("1/9","1","1/3","1/9","1/9","1/9","1/9"),
                    c("1/5","3","1","1/3","1/4","1/3","1/9"), c("1/2","9","3","1","1/2","1","1/3"),
                    c("1","9","4","2","1","2","1/2"), c("1","9","3","1","1/2","1","1/3"),
                    c("2","9","9","3","2","3","1")))
)
cat("id,element,weight,lambda_max\n")
for (id in names(examples)) {
  e <- eigen(examples[[id]])
  k <- which.max(Re(e$values))
  w <- abs(Re(e$vectors[, k])); w <- w / sum(w)
  for (i in seq_along(w)) cat(sprintf("%s,%d,%.15g,%.15g\n", id, i, w[i], Re(e$values[k])))
}
