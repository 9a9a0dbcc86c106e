"""Reusable widgets: the braille plot, the log view and the run detail panes."""
