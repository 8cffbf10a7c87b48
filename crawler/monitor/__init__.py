"""Change monitoring: a re-check's answer classified, events delivered as notifications and feeds."""
