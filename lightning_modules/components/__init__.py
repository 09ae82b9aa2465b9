"""Reusable network blocks (point-cloud operators, MLPs, heads) shared by several papers' networks."""
