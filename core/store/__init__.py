"""The run store: one folder per run (`runstore`), its JSONL and log readers, and run summaries for people."""
