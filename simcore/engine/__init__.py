"""Run any scenario: its title kind's run through the registry, or several markets added up.
May import kinds and everything below them."""
