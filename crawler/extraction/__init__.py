"""Extraction: a page's bytes to its archived text, hash and meeting; pure, no I/O."""
