"""The mini-game: its compile step (``plan``), simulation, dataset assembly and validate text;
``kind.KIND`` is its ``simcore.kinds.TitleKind``. May import figures and everything below."""
