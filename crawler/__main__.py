"""`python -m crawler` runs the readouts command line."""

from crawler.cli.main import main

main()
