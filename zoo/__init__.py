"""Shared glue of iconip-zoo: the run pipeline, provenance, results tables and safe I/O."""
