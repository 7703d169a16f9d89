"""Thumbnails: generators, an isolated worker to run them, icons, and the cache."""
