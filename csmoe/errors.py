"""The one exception type for bad input: it always names the file (or key) and the problem."""

from __future__ import annotations

from os import PathLike

MAX_PROBLEM = 1000  # characters


class InputError(Exception):
    """Raised when an input file, folder or config value is unusable.

    The command line turns it into a one-line message and a non-zero exit status.
    """

    def __init__(self, where: str | PathLike[str], problem: str) -> None:
        self.where = str(where)
        # One line, always: messages of the libraries that read a file (pyarrow, zarr,
        # rasterio) may span several, and the command line prints one.
        self.problem = " ".join(str(problem).split())[:MAX_PROBLEM]
        super().__init__(f"{self.where}: {self.problem}")

    def __reduce__(self):
        # Pickled (e.g. back from a worker process) as (where, problem): the default
        # pickles only the joined message, which this constructor cannot take.
        return type(self), (self.where, self.problem)


class TrainingError(InputError):
    """A training run that cannot go on (e.g. a loss that stays non-finite).

    Reported like bad input: one line naming the run folder and the problem.
    """
