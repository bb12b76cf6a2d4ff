"""Sweeps: many jobs from one base spec and a search space over its options (a grid, or random
samples), listed together with their final metrics, the best named, cancelled together."""
