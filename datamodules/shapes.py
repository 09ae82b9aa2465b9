"""A procedural, clearly SYNTHETIC point-cloud dataset: the offline demo and fast tests need no download.

Eight parametric solids are built once as small triangle meshes, sampled area-weighted like ModelNet meshes,
then each sample gets its own anisotropic scale, rotation and surface noise before the unit-sphere
normalisation. Everything is drawn from generators seeded by ``generation_seed`` (never the run seed), per
split and class, so the data is identical across runs and changing one split's size leaves the others
unchanged.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import Tensor

from datamodules import checks
from datamodules.pointclouds import (
    ROTATE_AXES,
    PointCloudDataModule,
    PointCloudSplits,
    PointCloudTensorDataset,
    derive_seed,
    normalize_unit_sphere,
    random_rotation_matrices,
    sample_points_on_mesh,
)
from zoo.errors import UserError

SHAPE_CLASSES: tuple[str, ...] = (
    "sphere",
    "cube",
    "cylinder",
    "cone",
    "torus",
    "square_pyramid",
    "octahedron",
    "capsule",
)
_SEGMENTS = 32  # around the axis of the surfaces of revolution


def _revolve(profile: Tensor, closed: bool = False) -> tuple[Tensor, Tensor]:
    """Mesh of the surface swept by the (r, z) polyline ``profile`` [M, 2] around the z axis."""
    angle = torch.arange(_SEGMENTS) * (2 * math.pi / _SEGMENTS)
    r, z = profile[:, :1], profile[:, 1:]
    pos = torch.stack([r * angle.cos(), r * angle.sin(), z.expand(-1, _SEGMENTS)], dim=-1).reshape(-1, 3)
    rings = profile.shape[0]
    i = torch.arange(rings if closed else rings - 1)[:, None]
    j = torch.arange(_SEGMENTS)[None, :]
    i_next, j_next = (i + 1) % rings, (j + 1) % _SEGMENTS
    a, b, c, d = (
        i * _SEGMENTS + j,
        i_next * _SEGMENTS + j,
        i_next * _SEGMENTS + j_next,
        i * _SEGMENTS + j_next,
    )
    face = torch.cat([torch.stack([a, b, c], -1).reshape(-1, 3), torch.stack([a, c, d], -1).reshape(-1, 3)])
    return pos, face  # triangles touching the axis (r = 0) have zero area and are never sampled


def _arc(radius: float, centre_z: float, start: float, end: float, steps: int) -> Tensor:
    t = torch.linspace(start, end, steps)
    return torch.stack([radius * t.cos(), centre_z + radius * t.sin()], dim=1)


def _polyhedron(pos: list[list[float]], polygons: list[list[int]]) -> tuple[Tensor, Tensor]:
    """Mesh from convex polygons (fan-triangulated)."""
    face = [[poly[0], poly[i], poly[i + 1]] for poly in polygons for i in range(1, len(poly) - 1)]
    return torch.tensor(pos, dtype=torch.float32), torch.tensor(face, dtype=torch.int64)


@functools.cache
def shape_meshes() -> dict[str, tuple[Tensor, Tensor]]:
    """The eight solids as (pos [V, 3], face [T, 3]) meshes, each roughly within the unit cube."""
    cube = [[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)]
    cube_faces = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    pyramid = [[-1.0, -1.0, -0.8], [1.0, -1.0, -0.8], [1.0, 1.0, -0.8], [-1.0, 1.0, -0.8], [0.0, 0.0, 1.0]]
    pyramid_faces = [[0, 1, 2, 3], [0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]
    octa = [[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], [0, 0, 1.0], [0, 0, -1.0]]
    octa_faces = [[x, y, z] for x in (0, 1) for y in (2, 3) for z in (4, 5)]
    half_pi = math.pi / 2
    capsule = torch.cat([_arc(0.5, -0.5, -half_pi, 0.0, 9), _arc(0.5, 0.5, 0.0, half_pi, 9)])
    return {
        "sphere": _revolve(_arc(1.0, 0.0, -half_pi, half_pi, 17)),
        "cube": _polyhedron(cube, cube_faces),
        "cylinder": _revolve(torch.tensor([[0.0, -1.0], [0.6, -1.0], [0.6, 1.0], [0.0, 1.0]])),
        "cone": _revolve(torch.tensor([[0.0, -0.8], [0.9, -0.8], [0.0, 1.0]])),
        "torus": _revolve(_arc(0.3, 0.0, 0.0, 2 * math.pi, 17)[:-1] + torch.tensor([0.7, 0.0]), closed=True),
        "square_pyramid": _polyhedron(pyramid, pyramid_faces),
        "octahedron": _polyhedron(octa, octa_faces),
        "capsule": _revolve(capsule),
    }


def generate_shape_samples(
    name: str,
    count: int,
    num_points: int,
    generator: torch.Generator,
    *,
    rotate_axis: str | None = "so3",
    scale_range: tuple[float, float] = (0.75, 1.33),
    noise_sigma: float = 0.01,
) -> Tensor:
    """``count`` clouds [count, num_points, 3] of solid ``name``, all drawn at once (no loop over samples)."""
    pos, face = shape_meshes()[name]
    points = sample_points_on_mesh(pos, face, num_points, generator, num_samples=count)
    low, high = scale_range
    points = points * (low + (high - low) * torch.rand(count, 1, 3, generator=generator))
    if rotate_axis is not None:
        rotation = random_rotation_matrices(count, rotate_axis, generator=generator)
        points = torch.bmm(points, rotation.transpose(1, 2))
    points = points + noise_sigma * torch.randn(points.shape, generator=generator)
    return normalize_unit_sphere(points)


class ShapesDataModule(PointCloudDataModule):
    """SYNTHETIC stand-in for ModelNet40 (8 parametric solids), for the offline demo and CPU tests.

    It ships its own validation split (``val_per_class`` per class); with ``val_per_class=0`` the base class's
    hold-out / test-set rule applies instead. Metrics on it say nothing about any paper's numbers.
    """

    dataset_name = "shapes (synthetic)"
    synthetic = True

    def __init__(
        self,
        num_points: int = 256,
        train_per_class: int = 64,
        val_per_class: int = 16,
        test_per_class: int = 32,
        generation_seed: int = 0,
        noise_sigma: float = 0.01,
        rotate_axis: str | None = "so3",
        scale_range: tuple[float, float] = (0.75, 1.33),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        counts = {
            "num_points": num_points,
            "train_per_class": train_per_class,
            "test_per_class": test_per_class,
        }
        for key, value in {**counts, "val_per_class": val_per_class}.items():
            minimum = 0 if key == "val_per_class" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise UserError(
                    f"{key} must be an integer >= {minimum}, got {value!r}",
                    where=f"data.{key}",
                    fix=f"e.g. data.{key}=16",
                )
        noise_sigma = checks.real(noise_sigma, "data.noise_sigma", "e.g. 0.01", low=0, high=math.inf)
        low, high = checks.positive_range(
            scale_range, "data.scale_range", "e.g. data.scale_range=[0.75,1.33]"
        )
        if rotate_axis not in (None, *ROTATE_AXES):
            raise UserError(
                f"unknown rotation axis {rotate_axis!r}", where="data.rotate_axis", fix="x, y, z, so3 or null"
            )
        self.num_points = num_points
        self.per_class = {"train": train_per_class, "val": val_per_class, "test": test_per_class}
        self.generation_seed = checks.seed(generation_seed, "data.generation_seed")
        self.noise_sigma, self.rotate_axis, self.scale_range = noise_sigma, rotate_axis, (low, high)
        self.up_axis = None if rotate_axis == "so3" or rotate_axis is None else rotate_axis

    def declared_class_names(self) -> tuple[str, ...]:
        return SHAPE_CLASSES

    def declared_point_features(self) -> int:
        return 3

    def load_splits(self) -> PointCloudSplits:
        splits = {split: self._generate(split, count) for split, count in self.per_class.items() if count > 0}
        return PointCloudSplits(class_names=SHAPE_CLASSES, **splits)

    def summary_extras(self) -> dict[str, Any]:
        return {"generation_seed": self.generation_seed, "per_class": dict(self.per_class)}

    def _generate(self, split: str, count: int) -> PointCloudTensorDataset:
        clouds = []
        for name in SHAPE_CLASSES:  # one vectorised draw per class, each from its own seeded generator
            generator = torch.Generator().manual_seed(
                derive_seed("shapes", self.generation_seed, split, name)
            )
            clouds.append(
                generate_shape_samples(
                    name,
                    count,
                    self.num_points,
                    generator,
                    rotate_axis=self.rotate_axis,
                    scale_range=self.scale_range,
                    noise_sigma=self.noise_sigma,
                )
            )
        labels = torch.arange(len(SHAPE_CLASSES)).repeat_interleave(count)
        return PointCloudTensorDataset(torch.cat(clouds), labels)
