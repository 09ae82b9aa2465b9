"""Paired glyph images of two fonts for font-transfer GANs (SAFont, ICONIP 2019, §3.1).

A font is a file path (``.ttf`` / ``.otf`` / ``.ttc``, optionally ``path#face``) or a fontconfig pattern
(``"WenQuanYi Zen Hei"``, ``"LXGW WenKai:style=Regular"``), resolved with ``fc-match`` and checked to really be that
family (fontconfig silently substitutes another font otherwise). A missing font is an error that names the Debian
package to install (``FONT_PACKAGES``).

Characters: GB2312 level 1 (3,755 common hanzi, in GB2312 order), kept only where **both** fonts cover them: the
code point is in the font's cmap and the rendered glyph is neither blank nor the font's missing-glyph box ("tofu").
Glyphs are rendered grey, ``image_size``² (64), black on white, centred by their ink box and scaled by one factor per
font so relative sizes stay as designed. ``train_size`` characters (2,000) train, chosen by a seeded permutation;
``val_size`` more (64) validate (image grids, checkpoint choice: never test characters, so nothing is tuned on the
test set), the rest are the test set. Rendered arrays are cached in
``cache_dir/fonts/`` keyed by the fonts' sha256, the character list and the renderer version, written atomically.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from datamodules import checks
from zoo.download import sha256_file
from zoo.errors import UserError, non_negative_int, positive_int
from zoo.io import atomic_write

log = logging.getLogger(__name__)
RENDER_VERSION = "glyphs-1"
# Debian packages of the open fonts the SAFont records use (``.ci/run`` and ``make install-fonts`` install them).
FONT_PACKAGES = {
    "WenQuanYi Zen Hei": "fonts-wqy-zenhei",
    "AR PL UKai CN": "fonts-arphic-ukai",
    "AR PL UMing CN": "fonts-arphic-uming",
    "LXGW WenKai": "fonts-lxgw-wenkai",
    "Noto Sans CJK SC": "fonts-noto-cjk",
}
# A glyph whose ink covers less than this fraction of the canvas is blank (spaces, zero-width forms).
MIN_INK = 0.005


@dataclass(frozen=True)
class FontFace:
    """One face of a font file; ``label`` is what the user asked for."""

    label: str
    path: Path
    index: int = 0

    @property
    def sha256(self) -> str:
        return sha256_file(self.path)


def gb2312_level1() -> list[str]:
    """The 3,755 level-1 hanzi of GB2312 (rows 0xB0–0xD7), in code order."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:  # row 0xD7 ends at 0xF9
                continue
    return chars


def _install_hint(family: str) -> str:
    package = next(
        (pkg for name, pkg in FONT_PACKAGES.items() if family.lower().startswith(name.lower())), None
    )
    return (
        f"apt-get install {package}" if package else "install the font and check `fc-list | grep -i <name>`"
    )


def resolve_font(spec: str) -> FontFace:
    """A font file (``path`` or ``path#face``) or a fontconfig pattern → the face to render."""
    path_part, _, face = str(spec).partition("#")
    path = Path(path_part).expanduser()
    if path.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc"):
        if not path.is_file():
            raise UserError(f"font file {path} does not exist", where=f"font '{spec}'", fix="check the path")
        if face and not face.isdigit():
            raise UserError(
                f"the face index {face!r} after '#' is not a number",
                where=f"font '{spec}'",
                fix="e.g. font.ttc#0",
            )
        return FontFace(str(spec), path, int(face or 0))
    family = path_part.split(":", 1)[0].strip()
    if shutil.which("fc-match") is None:
        raise UserError(
            f"cannot look up the font family '{family}': fontconfig's fc-match is not installed",
            where=f"font '{spec}'",
            fix="apt-get install fontconfig, or give the font file's path instead of its name",
        )
    out = subprocess.run(
        ["fc-match", "-f", "%{file}\t%{index}\t%{family}", path_part],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    file, index, families = (out.split("\t") + ["", "", ""])[:3]
    if not file or family.lower() not in [f.strip().lower() for f in families.split(",")]:
        raise UserError(
            f"font '{family}' is not installed (fontconfig would substitute '{families or 'nothing'}')",
            where=f"font '{spec}'",
            fix=f"{_install_hint(family)}, or give the path of a font file",
        )
    return FontFace(str(spec), Path(file), int(index or 0))


class GlyphRenderer:
    """Renders characters of one face into ``size``² uint8 images (255 = paper, 0 = ink)."""

    def __init__(self, face: FontFace, size: int = 64, margin: int = 4) -> None:
        from fontTools.ttLib import TTFont
        from PIL import ImageFont

        self.face, self.size, self.margin = face, size, margin
        with TTFont(str(face.path), fontNumber=face.index, lazy=True) as font:
            self.cmap = set(font.getBestCmap() or {})
        self.font = ImageFont.truetype(str(face.path), size=4 * size, index=face.index)
        self.tofu = self._raw("\U0010fffd")  # a private-use code point no font maps: its missing-glyph box

    def _raw(self, char: str) -> np.ndarray:
        """The glyph at 4× resolution, cropped to its ink box (possibly empty)."""
        from PIL import Image, ImageDraw

        canvas = Image.new("L", (8 * self.size, 8 * self.size), 0)
        ImageDraw.Draw(canvas).text((2 * self.size, 2 * self.size), char, fill=255, font=self.font)
        ink = np.asarray(canvas)
        rows, cols = np.nonzero(ink.max(1))[0], np.nonzero(ink.max(0))[0]
        if rows.size == 0:
            return np.zeros((0, 0), dtype=np.uint8)
        return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    def covers(self, char: str) -> bool:
        """In the cmap, not blank, and not the missing-glyph box."""
        if ord(char) not in self.cmap:
            return False
        raw = self._raw(char)
        if raw.size == 0 or (raw > 127).mean() * raw.size < MIN_INK * (4 * self.size) ** 2:
            return False
        return not (raw.shape == self.tofu.shape and np.array_equal(raw, self.tofu))

    def render(self, chars: list[str]) -> np.ndarray:
        """[len(chars), size, size] uint8: each glyph scaled by one factor (the em box fills the canvas minus the
        margin) and centred on its ink box."""
        from PIL import Image

        scale = (self.size - 2 * self.margin) / (4 * self.size)
        out = np.full((len(chars), self.size, self.size), 255, dtype=np.uint8)
        for i, char in enumerate(chars):  # rendering is per glyph by nature (FreeType); results are cached
            raw = self._raw(char)
            height, width = (max(1, round(d * scale)) for d in raw.shape)
            height, width = min(height, self.size), min(width, self.size)
            glyph = np.asarray(Image.fromarray(raw).resize((width, height), Image.Resampling.LANCZOS))
            top, left = (self.size - height) // 2, (self.size - width) // 2
            out[i, top : top + height, left : left + width] = 255 - glyph
        return out


def covered_characters(renderers: list[GlyphRenderer], chars: list[str]) -> list[str]:
    return [c for c in chars if all(r.covers(c) for r in renderers)]


def split_characters(
    chars: list[str], train_size: int, seed: int, val_size: int = 0
) -> tuple[list[str], list[str], list[str]]:
    """A seeded permutation: the first ``train_size`` train, the next ``val_size`` validate, the rest test (each
    kept in GB2312 order). Validation characters are never tested on and never trained on."""
    if train_size + val_size >= len(chars):
        raise UserError(
            f"train_size={train_size} + val_size={val_size} leaves no test characters: only {len(chars)} are "
            "covered by both fonts",
            where="data.train_size / data.val_size",
            fix=f"use data.train_size + data.val_size < {len(chars)}",
        )
    order = torch.randperm(len(chars), generator=torch.Generator().manual_seed(seed)).tolist()
    parts = order[:train_size], order[train_size : train_size + val_size], order[train_size + val_size :]
    train, val, test = ([chars[i] for i in sorted(part)] for part in parts)
    return train, val, test


class GlyphPairs(Dataset):
    """(source, target) glyphs as float tensors [1, H, W] in [0, 1] (1 = paper), with the character."""

    def __init__(self, source: np.ndarray, target: np.ndarray, chars: list[str]) -> None:
        self.source = torch.from_numpy(source).float().div(255.0)[:, None]
        self.target = torch.from_numpy(target).float().div(255.0)[:, None]
        self.chars = chars

    def __len__(self) -> int:
        return len(self.chars)

    def __getitem__(self, index: int) -> dict:
        return {"source": self.source[index], "target": self.target[index], "char": self.chars[index]}


class FontPairDataModule(pl.LightningDataModule):
    """Source → target font glyph pairs: ``train_size`` training, ``val_size`` validation, the rest test characters."""

    def __init__(
        self,
        source: str = "WenQuanYi Zen Hei",
        target: str = "AR PL UKai CN",
        cache_dir: str = ".cache",
        image_size: int = 64,
        train_size: int = 2000,
        val_size: int = 64,
        split_seed: int = 0,
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.source_spec, self.target_spec = source, target
        self.cache_dir = checks.folder(cache_dir, "data.cache_dir")
        self.image_size = positive_int(image_size, "data.image_size", "data.image_size=64")
        self.train_size = positive_int(train_size, "data.train_size", "data.train_size=2000")
        self.val_size = non_negative_int(val_size, "data.val_size")
        self.split_seed = checks.seed(split_seed, "data.split_seed")
        self.batch_size = positive_int(batch_size, "data.batch_size", "data.batch_size=16")
        self.num_workers = non_negative_int(num_workers, "data.num_workers")
        self.pin_memory = bool(pin_memory)
        self.train_set: GlyphPairs | None = None
        self.test_set: GlyphPairs | None = None

    def prepare_data(self) -> None:
        self._load()

    def _load(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Rendered (source, target, characters) of every covered character, from the cache when possible."""
        faces = [resolve_font(self.source_spec), resolve_font(self.target_spec)]
        chars = gb2312_level1()
        payload = {
            "version": RENDER_VERSION,
            "fonts": [(f.sha256, f.index) for f in faces],
            "size": self.image_size,
            "chars": hashlib.sha256("".join(chars).encode()).hexdigest(),
        }
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        cache = self.cache_dir / "fonts" / f"glyphs-{key}.npz"
        if cache.is_file():
            try:
                with np.load(cache) as data:
                    return data["source"], data["target"], list(str(data["chars"]))
            except Exception as err:  # an unreadable cache is rebuilt, never trusted
                log.warning("glyph cache %s is unreadable (%s); rebuilding it", cache, err)
        renderers = [GlyphRenderer(face, self.image_size) for face in faces]
        covered = covered_characters(renderers, chars)
        log.info("%d of %d GB2312 level-1 characters are covered by both fonts", len(covered), len(chars))
        source, target = (r.render(covered) for r in renderers)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, source=source, target=target, chars=np.array("".join(covered)))
        atomic_write(cache, lambda handle: handle.write(buffer.getvalue()))
        return source, target, covered

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        source, target, chars = self._load()
        train, val, test = split_characters(chars, self.train_size, self.split_seed, self.val_size)
        position = {c: i for i, c in enumerate(chars)}

        def pairs(subset: list[str]) -> GlyphPairs:
            rows = [position[c] for c in subset]
            return GlyphPairs(source[rows], target[rows], subset)

        self.train_set, self.val_set, self.test_set = pairs(train), pairs(val), pairs(test)

    def _loader(self, dataset: GlyphPairs, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            generator=torch.Generator().manual_seed(self.split_seed) if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)
