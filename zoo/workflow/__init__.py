"""The top layer: what run.py and `make results` / `make bench` do with the methods and datamodules."""
