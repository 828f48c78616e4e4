"""The dataset contract: a run's variables, attributes and outcomes, reading and writing
(atomic writes, overwrite checks), observed cohort reports, and the day and target a command
judges a run at. May import scenario and model."""
