"""`python -m crawler` runs the readouts command line."""

from crawler.cli import main

main()
