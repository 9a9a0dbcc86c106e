"""Reading the run store off the event loop.

One poller thread (`poller`) reads every subscribed source about once a second and leaves what it
found in each feed; the app takes all pending batches on one timer tick and hands them to the
widgets, so a burst of log lines or metric points costs one repaint, not one per line. A feed's
first result wakes the app at once, so a screen fills as soon as its files are read.

The feeds, one module each: `runs` (every run in the store, for the runs table; `modal_refresh`
brings Modal runs up to date), `records` (one run's record and status), `metrics` (a metrics or
system file folded into curves), `lines` (samples, any JSONL), `log` (log.txt), `eval` (the eval
folder); `scores` reads pass@1 off evaluation summaries.
"""
