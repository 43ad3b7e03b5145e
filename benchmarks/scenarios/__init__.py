"""One module per scenario; each `run(...)` returns a `Result` (see `benchmarks.report`)."""
