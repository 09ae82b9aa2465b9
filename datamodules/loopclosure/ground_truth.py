"""Loop-closure ground truth: a square binary frame × frame matrix, read safely, checked, made symmetric.

``M[i, j] = 1`` means frames i and j show the same place (a loop closure when i and j are far apart in time).
Three file forms are read, none of which can run code: MATLAB ``.mat`` (``scipy.io.loadmat``), ``.npy`` with
``allow_pickle=False`` (an object array is refused, not unpickled) and the pairs text (``# header`` line with
``N=<n>``, then ``i j`` per non-zero entry, 0-based).

What the public sources store (all binary, empty diagonal; checked on the shared copies):

- one triangle only: 13 matrices are strictly lower-triangular (row i revisits the earlier frame j < i):
  Lip6 Outdoor / Indoor, New College 2146, City Centre 1237, KITTI 00/02/05/06, Málaga, St Lucia ×4;
  ``newcollege_GT.mat`` (2624) and ``new_GT_biccoca.mat`` (26335) are strictly upper-triangular.
- so a reader that only looks below the diagonal would find no loop at all in the last two. ``symmetric=True``
  (default) returns ``M | M.T`` so every consumer can ask "is (i, j) a revisit" without knowing the source's
  orientation; ``GroundTruth.stored`` records which triangle the file held.

Subsampling (``subsample``) keeps frames ``offset, offset + step, …`` and the matrix rows and columns of exactly
those frames (no pooling of the dropped frames' loops): Lip6 Outdoor's 1,063 frames at ``step=2`` are 532 frames
(0, 2, …, 1062) with ``offset=0`` and 531 (1, 3, …, 1061) with ``offset=1``, the count in the paper's Table 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import UserError

SUFFIXES = (".mat", ".npy", ".txt")


@dataclass(frozen=True)
class GroundTruth:
    """A checked matrix (bool ``[n, n]``), where it came from, and which triangle the file stored.

    ``stored``: ``lower`` (only i > j), ``upper`` (only i < j), ``both``, or ``empty`` (no loop at all).
    ``frames``: the original frame number of each row (``arange(n)`` until subsampled).
    """

    matrix: np.ndarray
    source: str
    stored: str
    frames: np.ndarray

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    def lower(self) -> np.ndarray:
        """Only the revisits of earlier frames (i > j), the half a loop-closure detector is scored on."""
        return np.tril(self.matrix, k=-1)


def load_ground_truth(path: str | Path, variable: str | None = None, symmetric: bool = True) -> GroundTruth:
    """Read ``path`` (.mat / .npy / pairs .txt), check it is square and binary, symmetrise it if asked.

    ``variable``: the .mat variable to read; None takes the file's only matrix (an error if it holds several).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            "ground-truth file is missing",
            where=str(path),
            fix="copy the ground_truth folder of the shared data (see its MANIFEST.md) or set data.download=true",
        )
    suffix = path.suffix.lower()
    if suffix == ".mat":
        raw, source = _read_mat(path, variable)
    elif suffix == ".npy":
        raw, source = _read_npy(path), str(path)
    elif suffix == ".txt":
        raw, source = read_pairs(path), str(path)
    else:
        raise UserError(
            f"unknown ground-truth file type {path.suffix!r}",
            where=str(path),
            fix=f"give a {', '.join(SUFFIXES)} file",
        )
    matrix = check_matrix(raw, source)
    stored = triangle(matrix)
    if symmetric:
        matrix = matrix | matrix.T
    return GroundTruth(matrix, source, stored, np.arange(matrix.shape[0]))


def check_matrix(raw: object, where: str) -> np.ndarray:
    """``raw`` as a bool matrix; a UserError unless it is 2-D, square and holds only 0 and 1."""
    if hasattr(raw, "toarray"):  # a scipy sparse matrix (MATLAB sparse storage)
        raw = raw.toarray()
    array = np.asarray(raw)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise UserError(
            f"a loop-closure ground truth must be a square frame × frame matrix, got shape {array.shape}",
            where=where,
            fix="give the matrix whose row and column i both stand for frame i (n × n, n = number of frames)",
        )
    if array.dtype == bool:
        return array
    if not (np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)):
        raise UserError(
            f"a loop-closure ground truth must be numeric 0/1, got dtype {array.dtype}",
            where=where,
            fix="store the matrix as numbers (uint8, double or logical)",
        )
    bad = (array != 0) & (array != 1)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        values = np.unique(array[bad])[:5].tolist()
        raise UserError(
            f"a loop-closure ground truth must be binary, but {int(bad.sum())} entries are not 0 or 1 "
            f"(values {values}, first at row {i}, column {j})",
            where=where,
            fix="threshold a score or distance matrix into 0/1 first (1 = same place)",
        )
    return array == 1


def triangle(matrix: np.ndarray) -> str:
    """Which part of ``matrix`` holds its loops: ``lower``, ``upper``, ``both`` or ``empty``."""
    rows, cols = np.nonzero(matrix)
    below, above = bool((rows > cols).any()), bool((rows < cols).any())
    return {(True, False): "lower", (False, True): "upper", (True, True): "both"}.get((below, above), "empty")


def subsample_indices(n: int, step: int, offset: int = 0) -> np.ndarray:
    """The original frame numbers kept: ``offset, offset + step, …`` below ``n``."""
    if step < 1 or not 0 <= offset < step:
        raise UserError(
            f"subsampling needs step >= 1 and 0 <= offset < step, got step={step}, offset={offset}",
            where="data.subsample / data.offset",
            fix="e.g. data.subsample=2 data.offset=0 (every 2nd frame, starting with the first)",
        )
    return np.arange(offset, n, step)


def subsample(truth: GroundTruth, step: int, offset: int = 0) -> GroundTruth:
    """The ground truth of the frames ``offset::step`` (rows and columns picked; see the module docstring)."""
    keep = subsample_indices(truth.size, step, offset)
    matrix = truth.matrix[np.ix_(keep, keep)]
    return GroundTruth(matrix, truth.source, truth.stored, truth.frames[keep])


def offset_histogram(truth: GroundTruth) -> dict[int, int]:
    """{i - j: count} over the revisits i > j: the time gaps at which places recur (a sanity view)."""
    rows, cols = np.nonzero(truth.lower())
    gaps, counts = np.unique(rows - cols, return_counts=True)
    return dict(zip(gaps.tolist(), counts.tolist(), strict=True))


def _read_mat(path: Path, variable: str | None) -> tuple[object, str]:
    import scipy.io

    try:
        content = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as err:
        raise UserError(
            f"cannot read the MATLAB file ({type(err).__name__}: {err})",
            where=str(path),
            fix="save it as a MATLAB v5/v7 .mat (not v7.3/HDF5), e.g. save(f, 'truth', '-v7'), or re-download it",
        ) from None
    names = [k for k in content if not k.startswith("__")]
    if variable is None:
        if len(names) != 1:
            raise UserError(
                f"the file holds {len(names)} variables ({', '.join(names) or 'none'}); which is the matrix?",
                where=str(path),
                fix="name it: data.ground_truth_variable=<name> (the variable argument of load_ground_truth)",
            )
        variable = names[0]
    if variable not in content:
        raise UserError(
            f"no variable {variable!r} in the file (it holds {', '.join(names) or 'nothing'})",
            where=str(path),
            fix=f"use one of {', '.join(names)}" if names else "re-download the file",
        )
    return content[variable], f"{path}:{variable}"


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err):
            raise UserError(
                "the .npy file holds Python objects (a pickle), which this loader never unpickles",
                where=str(path),
                fix="give the matrix as a numeric .npy, a .mat or the pairs text (VPR-Bench: ground_truth.txt)",
            ) from None
        raise UserError(f"cannot read the .npy file ({err})", where=str(path), fix="re-download it") from None


_HEADER_N = re.compile(r"\bN\s*=\s*(\d+)")


def read_pairs(path: Path) -> np.ndarray:
    """The pairs text as a uint8 matrix: ``N=<n>`` from the ``#`` header, then one ``i j`` (0-based) per line."""
    lines = path.read_text().splitlines()
    header = " ".join(line for line in lines if line.startswith("#"))
    match = _HEADER_N.search(header)
    if match is None:
        raise UserError(
            "the pairs file has no '# ... N=<frames> ...' header line",
            where=str(path),
            fix="start it with a line like '# N=1063' (the matrix size, which the pairs alone do not give)",
        )
    n = int(match.group(1))
    body = [(k + 1, line) for k, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    try:
        pairs = np.array([[int(v) for v in line.split()] for _, line in body], dtype=np.int64).reshape(-1, 2)
    except ValueError:
        bad = next(k for k, line in body if not re.fullmatch(r"\s*\d+\s+\d+\s*", line))
        raise UserError(
            "a pairs line is not two non-negative integers 'i j'",
            where=f"{path} line {bad}",
            fix="fix the line",
        ) from None
    outside = (pairs < 0) | (pairs >= n)
    if outside.any():
        row = int(np.flatnonzero(outside.any(axis=1))[0])
        raise UserError(
            f"pair {pairs[row].tolist()} is outside the {n} frames of the header",
            where=f"{path} line {body[row][0]}",
            fix="indices are 0-based and below N",
        )
    matrix = np.zeros((n, n), dtype=np.uint8)
    matrix[pairs[:, 0], pairs[:, 1]] = 1
    return matrix
