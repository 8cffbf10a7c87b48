"""Cluster mode: crawl workers on many machines share a Redis frontier; one writer keeps the archive."""
