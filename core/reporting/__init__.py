"""The study's results: the table the CLI, the app and exports show (`results`), its scores and text formatting."""
