"""The Modal app that runs rdtui's conditions on cloud GPUs (see app.py; it calls into core)."""
