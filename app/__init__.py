"""The team file server: Datasette, datasette-files and their preset configuration."""
