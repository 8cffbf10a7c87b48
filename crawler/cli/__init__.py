"""The `readouts` command line (click), a thin layer over storage and the crawl."""
