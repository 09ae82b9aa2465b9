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
