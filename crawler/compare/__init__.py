"""Comparison: one meeting's readouts split into statements, aligned, and what each side said alone."""
