"""CSV/TSV import: detection, the streaming import job, and its records."""
