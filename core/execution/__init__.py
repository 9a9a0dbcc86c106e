"""From a request to finished runs: `launch` plans and creates runs, `pipeline` runs a run's stages in order,
`run_process` is the process one run executes in (`python -m core.execution.run_process RUN_DIR`)."""
