"""Many runs: sweeps, the budget scan, sensitivity, calibration to a cohort report, their
executors, the sweep store and the work estimate. May import engine and everything below it."""
