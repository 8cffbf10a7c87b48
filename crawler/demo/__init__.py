"""`readouts demo`: a bundled sample web on loopback, crawled twice (with an edit between) into a demo archive."""
