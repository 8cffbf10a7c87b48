"""The web UI: Datasette on the archive, with readouts' metadata, canned queries and pages (a Datasette plugin)."""
