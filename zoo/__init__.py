"""Shared glue of iconip-zoo: the floor (errors, safe I/O, provenance, records, ...) every layer may import;
the run pipeline, results tables and benchmarks live on top, in ``zoo.workflow``."""
