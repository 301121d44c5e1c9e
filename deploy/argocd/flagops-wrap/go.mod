module github.com/flagops/flagops-data-store/deploy/argocd/flagops-wrap

go 1.24.0
