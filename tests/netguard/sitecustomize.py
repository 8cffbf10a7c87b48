"""Loaded in every test subprocess (through PYTHONPATH): refuse any socket connection outside loopback."""

from netguard_impl import install

install()
