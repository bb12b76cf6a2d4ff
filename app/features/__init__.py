"""Features of a trained model for downstream models: up-pass features of a dataset, and the
linear probe (logistic regression on features, scored on held-out rows) reported by jobs."""
