from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from datamodules import fonts
from datamodules.fonts import (
    FontFace,
    FontPairDataModule,
    GlyphRenderer,
    gb2312_level1,
    resolve_font,
    split_characters,
)
from zoo.errors import UserError

DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # Latin only, bundled


def installed(family: str) -> bool:
    try:
        resolve_font(family)
    except UserError:
        return False
    return True


needs_cjk_fonts = pytest.mark.skipif(
    shutil.which("fc-match") is None or not (installed("WenQuanYi Zen Hei") and installed("AR PL UKai CN")),
    reason="CJK fonts not installed (make install-fonts / .ci/run install them)",
)


def test_gb2312_level1_is_the_3755_common_hanzi_in_code_order() -> None:
    chars = gb2312_level1()
    assert len(chars) == len(set(chars)) == 3755
    assert chars[0] == "啊" and chars[-1] == "座"


def test_coverage_filter_rejects_unmapped_and_blank_glyphs() -> None:
    renderer = GlyphRenderer(FontFace("DejaVu Sans", DEJAVU))
    assert renderer.covers("A")
    assert not renderer.covers("啊")  # not in a Latin font's cmap: would render as tofu
    assert not renderer.covers(" ")  # mapped but blank


def test_rendered_glyphs_are_centred_ink_on_paper() -> None:
    image = GlyphRenderer(FontFace("DejaVu Sans", DEJAVU), size=64).render(["H"])[0]
    assert image.shape == (64, 64) and image.dtype == np.uint8
    assert image[0].min() == 255 and image[:, 0].min() == 255  # margins are paper
    rows, cols = np.nonzero(image < 128)
    assert abs(rows.mean() - 31.5) < 2 and abs(cols.mean() - 31.5) < 2


def test_split_is_deterministic_disjoint_and_sized() -> None:
    chars = gb2312_level1()
    train, val, test = split_characters(chars, 2000, seed=0, val_size=64)
    assert (train, val, test) == split_characters(chars, 2000, seed=0, val_size=64)
    assert (len(train), len(val), len(test)) == (2000, 64, 1691)
    assert not set(train) & set(test) and not set(val) & (set(train) | set(test))  # nothing tuned on test
    assert split_characters(chars, 2000, seed=1)[0] != train
    assert split_characters(chars, 2000, seed=0)[0] == train  # validation does not change the training set
    with pytest.raises(UserError, match="train_size"):
        split_characters(chars[:10], 8, seed=0, val_size=2)


def test_missing_fonts_name_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        resolve_font(str(tmp_path / "nope.ttf"))
    if shutil.which("fc-match") is not None and not installed("Noto Sans CJK SC"):
        with pytest.raises(UserError, match="fonts-noto-cjk"):
            resolve_font("Noto Sans CJK SC")


@needs_cjk_fonts
def test_datamodule_renders_pairs_and_reuses_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dm = FontPairDataModule(cache_dir=str(tmp_path), train_size=2000, val_size=8, batch_size=4)
    dm.setup("fit")
    assert len(dm.train_set) == 2000 and len(dm.test_set) == 3755 - 2008 and len(dm.val_set) == 8
    assert not set(dm.val_set.chars) & set(dm.test_set.chars)
    batch = next(iter(dm.train_dataloader()))
    assert batch["source"].shape == (4, 1, 64, 64) and 0 <= float(batch["source"].min()) <= 1
    assert not np.array_equal(dm.train_set.source.numpy(), dm.train_set.target.numpy())  # two styles
    assert len(list((tmp_path / "fonts").glob("glyphs-*.npz"))) == 1

    def no_rendering(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(fonts, "GlyphRenderer", no_rendering)
    again = FontPairDataModule(cache_dir=str(tmp_path), train_size=2000, val_size=8)
    again.setup("fit")
    assert again.train_set.chars == dm.train_set.chars


def test_bad_arguments_are_user_errors_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data.split_seed"):
        FontPairDataModule(cache_dir=str(tmp_path), split_seed="x")
    with pytest.raises(UserError, match="data.cache_dir"):
        FontPairDataModule(cache_dir=None)
    with pytest.raises(UserError, match="face index 'abc'"):
        resolve_font(f"{DEJAVU}#abc")
