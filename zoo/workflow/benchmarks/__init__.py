"""Benchmarks behind ``make bench``: one module per paper, each with a ``main()`` that prints a Markdown table."""
