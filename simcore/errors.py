"""The one error type users see: a bad scenario value, reported as one line. Also used for a
bad command-line flag (its key is then the flag, e.g. ``--day``). A leaf: every layer may
import it; it imports nothing."""


class ScenarioError(Exception):
    """A scenario value that cannot be used.

    ``key`` is the dotted key (``campaign.daily_budget_usd``), ``message`` says what is wrong
    and the valid range; ``source`` is the file (and overrides) it came from, filled in by the
    loader. ``str()`` gives the one-line message printed by the CLI.
    """

    def __init__(self, key: str, message: str, source: str | None = None):
        super().__init__(key, message, source)
        self.key = key
        self.message = message
        self.source = source

    def with_source(self, source: str) -> "ScenarioError":
        return ScenarioError(self.key, self.message, source)

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        key = f"{self.key}: " if self.key else ""
        text = f"{where}{key}{self.message}"
        # always one line, and nothing a terminal would act on (escape sequences, NUL)
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                       for c in text)
