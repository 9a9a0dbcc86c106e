"""The app's screens: runs (home), run detail, config editor, launch, results, help, dialogs."""
