"""The packaged scenario files (``*.toml``, shipped as package data)."""
