"""One exception type for mistakes a user can fix, so ``run.py`` prints a paragraph instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input (config, data, checkpoint) that they can fix.

    The message says what is wrong, where, and how to fix it; ``run.py`` prints it without a traceback.
    ``sweep_fatal``: the mistake is the same for every job of a sweep, so ``-m`` stops at once instead of
    recording each job as failed.
    """

    def __init__(
        self, problem: str, *, where: str | None = None, fix: str | None = None, sweep_fatal: bool = False
    ) -> None:
        self.problem, self.where, self.fix, self.sweep_fatal = problem, where, fix, sweep_fatal
        parts = [problem.rstrip(".") + "."]
        if where:
            parts.append(f"Where: {where}.")
        if fix:
            parts.append(f"Fix: {fix.rstrip('.')}.")
        super().__init__(" ".join(parts))


def positive_int(value: object, where: str, example: str) -> int:
    """``value`` as an int > 0 (bools rejected), or a UserError naming the config key."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise UserError(
            f"{where} must be a positive integer, got {value!r}", where=where, fix=f"e.g. {example}"
        )
    return int(value)


def non_negative_int(value: object, where: str) -> int:
    """``value`` as an int >= 0 (bools rejected), or a UserError naming the config key."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise UserError(f"{where} must be an integer >= 0, got {value!r}", where=where, fix=f"e.g. {where}=0")
    return int(value)


def integer_in_range(value: object, where: str, low: int, high: int, fix: str) -> int:
    """``value`` as an int in [low, high]; text, fractions (``1.5`` must not run as 1) and bools are refused."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise UserError(
            f"{where} must be an integer from {low} to {high}, got {value!r}", where=where, fix=fix
        )
    return int(value)


def check_choice(value: object, choices: object, where: str, what: str | None = None) -> None:
    """Raise a UserError naming the config key and the valid options unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        name = what or where.rsplit(".", 1)[-1]
        raise UserError(
            f"unknown {name} {value!r}", where=where, fix=f"use one of {', '.join(map(str, options))}"
        )
