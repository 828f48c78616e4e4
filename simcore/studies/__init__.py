"""Studies: many runs of the engine (calibration to observed data)."""
