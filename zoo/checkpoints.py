"""Safe checkpoint loading: verify the file, unpickle only tensors and plain containers, explain refusals.

A ``.ckpt`` is a pickle, and unpickling can run arbitrary code. Lightning 2.6 loads ``ckpt_path`` with
``weights_only=None``, which on torch < 2.6 means "unpickle anything". Here every load passes
``weights_only=True`` explicitly, after checking the zip archive (including each member's CRC-32, which
``torch.load`` does not check), and each failure becomes one :class:`~zoo.errors.UserError` paragraph.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from pytorch_lightning.plugins.io import TorchCheckpointIO

from zoo.errors import UserError

# Globals that checkpoints written by this project's runs need beyond torch's weights-only allow-list: none.
# A tiny fit (with and without early stopping) saves only tensors, dicts, lists, tuples, numbers, strings and
# OrderedDict; ``ZooModule.on_save_checkpoint`` turns OmegaConf hyperparameters into plain containers so that
# this stays empty. Add a type here only with a note saying which run writes it; never load with
# ``weights_only=False`` instead.
PROJECT_SAFE_GLOBALS: tuple[Any, ...] = ()

WHERE = "ckpt_path"
ANOTHER_CHECKPOINT = (
    "copy it again from where it was written, or use another checkpoint of the run "
    "(<run dir>/checkpoints/last.ckpt or a best_epoch*.ckpt)"
)
_CHUNK = 1 << 20
_SHOWN_KEYS = 3


def verify_checkpoint(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a readable, undamaged torch zip checkpoint; otherwise one UserError.

    Catches what ``torch.load`` reports badly or not at all: a missing file, a truncated copy, bytes changed
    inside a tensor (``torch.load`` skips the CRC-32 check), and a zip that is not a checkpoint.
    """
    ckpt = Path(path)
    if not ckpt.is_file():
        raise UserError(f"checkpoint '{path}' does not exist", where=WHERE, fix=_missing_fix(ckpt))
    try:
        with zipfile.ZipFile(ckpt) as archive:
            _check_is_torch_archive(archive, ckpt)
            _check_members(archive, ckpt)
    except zipfile.BadZipFile:
        raise UserError(
            f"checkpoint '{path}' is not a PyTorch checkpoint: not a zip archive (truncated or corrupt)",
            where=WHERE,
            fix=ANOTHER_CHECKPOINT,
        ) from None
    except OSError as err:
        raise UserError(
            f"checkpoint '{path}' cannot be read: {err}", where=WHERE, fix="check the file's permissions"
        ) from None
    return ckpt


def _missing_fix(ckpt: Path) -> str:
    """Name the checkpoints that do exist next to a mistyped path: the usual cause is a wrong file name."""
    nearby = sorted(p.name for p in ckpt.parent.glob("*.ckpt")) if ckpt.parent.is_dir() else []
    if nearby:
        return f"pass one of the checkpoints in {ckpt.parent}: {', '.join(nearby[:5])}"
    return "pass the path of a .ckpt file, e.g. <run dir>/checkpoints/last.ckpt"


def _check_is_torch_archive(archive: zipfile.ZipFile, ckpt: Path) -> None:
    """``torch.save`` writes ``<name>/data.pkl``; any other zip (a dataset, code) is not a checkpoint."""
    if not any(re.fullmatch(r"[^/]+/data\.pkl", name) for name in archive.namelist()):
        raise UserError(
            f"checkpoint '{ckpt}' is a zip archive but not a PyTorch checkpoint (no <name>/data.pkl inside)",
            where=WHERE,
            fix="pass a .ckpt file written by a fit run (<run dir>/checkpoints/)",
        )


def _check_members(archive: zipfile.ZipFile, ckpt: Path) -> None:
    """Read every member so zipfile checks its CRC-32: a flipped byte in a tensor is caught and named."""
    for info in archive.infolist():
        try:
            with archive.open(info) as member:
                while member.read(_CHUNK):
                    pass
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as err:
            raise UserError(
                f"checkpoint '{ckpt}' is damaged: member '{info.filename}' fails its integrity check "
                f"({err}); its bytes changed after it was written",
                where=WHERE,
                fix=ANOTHER_CHECKPOINT,
            ) from None


def load_checkpoint(path: str | os.PathLike, map_location: Any = None) -> dict[str, Any]:
    """Verify ``path``, then load it with ``weights_only=True`` on every torch version (no arbitrary objects).

    ``map_location`` is passed to ``torch.load`` unchanged (``None``: the devices the tensors were saved on).
    """
    ckpt = verify_checkpoint(path)
    try:
        with _project_safe_globals():
            checkpoint = torch.load(ckpt, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise _unsafe_checkpoint_error(ckpt, err) from None
    except RuntimeError as err:
        if "PytorchStreamReader failed" not in str(err):
            raise
        raise UserError(
            f"checkpoint '{ckpt}' is incomplete or corrupt: torch could not read it "
            f"({_first_line(str(err))})",
            where=WHERE,
            fix=ANOTHER_CHECKPOINT,
        ) from None
    if not isinstance(checkpoint, dict):
        raise UserError(
            f"checkpoint '{ckpt}' holds a {type(checkpoint).__name__}, not a Lightning checkpoint dict",
            where=WHERE,
            fix="pass a .ckpt file written by a fit run (<run dir>/checkpoints/)",
        )
    return checkpoint


@contextmanager
def _project_safe_globals() -> Iterator[None]:
    """Allow :data:`PROJECT_SAFE_GLOBALS` for one load only (``safe_globals`` is new in torch 2.5)."""
    if not PROJECT_SAFE_GLOBALS:
        yield
        return
    with torch.serialization.safe_globals(list(PROJECT_SAFE_GLOBALS)):
        yield


def _unsafe_checkpoint_error(ckpt: Path, err: pickle.UnpicklingError) -> UserError:
    """The weights-only unpickler refused a global: name it, and never suggest ``weights_only=False``."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f" ({found.group(1)})" if found else _torch_reason(str(err))
    return UserError(
        f"checkpoint '{ckpt}' holds Python objects other than tensors and plain containers{what}; it is "
        "refused because unpickling them can run arbitrary code",
        where=WHERE,
        fix="use a checkpoint written by this project's runs (<run dir>/checkpoints/*.ckpt); a file you "
        "saved yourself must hold only tensors, numbers, strings and dicts/lists of them (e.g. a state_dict)",
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _torch_reason(text: str) -> str:
    """torch's reason for a weights-only refusal, without its advice to retry with ``weights_only=False``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = [line for line in lines if "weights_only" not in line and "documentation" not in line]
    return f" ({reasons[0]})" if reasons else ""


def _keep_storage(storage: Any, location: str) -> Any:
    """Lightning's default ``map_location``: tensors stay on the CPU, where they were deserialised."""
    return storage


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, loading through :func:`load_checkpoint` (verified, ``weights_only=True``).

    Install with ``trainer.strategy.checkpoint_io = SafeCheckpointIO()``: ``fit``/``test``/``predict`` with
    ``ckpt_path`` load through ``strategy.load_checkpoint`` -> ``checkpoint_io.load_checkpoint`` on the
    single-device and DDP strategies. Saving is unchanged.
    """

    def load_checkpoint(
        self,
        path: str | os.PathLike,
        map_location: Any = _keep_storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """Load the local file ``path`` with ``weights_only=True`` whatever ``weights_only`` asks.

        A ``weights_only=False`` request is ignored on purpose: a checkpoint that needs it can run arbitrary
        code, and is refused with a UserError instead. Remote (fsspec) paths are refused as missing files.
        """
        return load_checkpoint(path, map_location=map_location)


def translate_state_dict_mismatch(
    err: BaseException, ckpt_path: str | os.PathLike | None
) -> UserError | None:
    """One paragraph for "Error(s) in loading state_dict" (a checkpoint of another model configuration).

    Returns ``None`` for any other error, so the caller re-raises it unchanged.
    """
    message = str(err)
    if not isinstance(err, RuntimeError) or not message.startswith("Error(s) in loading state_dict"):
        return None
    return UserError(
        f"checkpoint '{ckpt_path}' was written by a model configured differently from this run's "
        f"({'; '.join(_mismatch_summary(message))})",
        where=f"{WHERE}={ckpt_path}",
        fix=_mismatch_fix(ckpt_path),
    )


def _mismatch_summary(message: str) -> list[str]:
    """The first few differing keys of each kind, with shapes shortened to ``[32, 64]``."""
    sizes = re.findall(
        r"size mismatch for ([^:]+): copying a param with shape torch\.Size\((\[[^\]]*\])\) from checkpoint, "
        r"the shape in current model is torch\.Size\((\[[^\]]*\])\)",
        message,
    )
    parts = []
    if sizes:
        shown = ", ".join(
            f"{key} {saved} in the checkpoint vs {model} here" for key, saved, model in sizes[:2]
        )
        parts.append(f"{_count(len(sizes), 'shape differs', 'shapes differ')}: {shown}{_more(len(sizes), 2)}")
    for label, title in (
        ("Missing", "missing from the checkpoint"),
        ("Unexpected", "only in the checkpoint"),
    ):
        keys = _listed_keys(message, label)
        if keys:
            shown = ", ".join(keys[:_SHOWN_KEYS])
            parts.append(
                f"{_count(len(keys), 'key', 'keys')} {title}: {shown}{_more(len(keys), _SHOWN_KEYS)}"
            )
    return parts or [_first_line(message)]


def _listed_keys(message: str, label: str) -> list[str]:
    found = re.search(rf"{label} key\(s\) in state_dict: (.*)", message)
    return re.findall(r'"([^"]+)"', found.group(1)) if found else []


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _more(total: int, shown: int) -> str:
    return f" (+{total - shown} more)" if total > shown else ""


def _mismatch_fix(ckpt_path: str | os.PathLike | None) -> str:
    """Point at the overrides of the run that wrote the checkpoint when in ``<run dir>/checkpoints/``."""
    ckpt = Path(ckpt_path) if ckpt_path else None
    overrides = ckpt.parent.parent / "overrides.yaml" if ckpt and ckpt.parent.name == "checkpoints" else None
    if overrides is None or not overrides.is_file():
        return "pick a checkpoint written by this experiment with the same model.* overrides"
    model = _model_overrides(overrides)
    shown = f" (model-related: {' '.join(model)})" if model else ""
    return (
        f"rerun with the overrides of the run that wrote it, listed in {overrides}{shown}, "
        "or pick a checkpoint of this experiment"
    )


def _model_overrides(overrides: Path) -> list[str]:
    """The ``experiment=`` and ``model.*`` overrides: the ones that decide parameter names and shapes."""
    try:
        listed = OmegaConf.load(overrides)
    except Exception:  # an unreadable overrides.yaml only costs the hint, not the error message
        return []
    if not isinstance(listed, Sequence):
        return []
    keep = [str(o) for o in listed if str(o).lstrip("+~").startswith(("experiment=", "model"))]
    return keep[:8]
