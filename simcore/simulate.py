"""Kept for user code and notebooks (``from simcore.simulate import run``): ``run`` lives in
``simcore.engine.run``, the game's simulation in ``simcore.kinds.game.simulate``. Nothing in
simcore imports this module."""

from simcore.engine.run import run

__all__ = ["run"]
