"""LightningDataModules of iconip-zoo.

Each dataset family shares one plumbing module (``pointclouds.py`` for point clouds) so that every paper gets
the same batch format, validation split, augmentation and cache rules; the per-dataset modules only read
files.
"""
