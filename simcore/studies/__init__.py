"""Many runs: sweeps, the budget scan, sensitivity, their executors, the sweep store and the
work estimate. May import engine and everything below it."""
