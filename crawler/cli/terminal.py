"""Stored text made safe to print on a terminal: control characters shown, never obeyed."""

from __future__ import annotations

import unicodedata

import click

_KEEP = {"\n", "\t"}


def printable(text: str) -> str:
    """Return text with control and bidi-override characters written as visible escapes (\\x1b, \\u202e)."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char not in _KEEP and (category == "Cc" or (category == "Cf" and 0x202A <= ord(char) <= 0x2069)):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def show(text: str) -> None:
    """Print a line built from stored data (titles, texts, URLs) on stdout, with control characters escaped."""
    click.echo(printable(text))
