"""Statistics: comparisons (bootstrap CIs, effect sizes, corrected p-values) and summaries."""
