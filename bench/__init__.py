"""The benchmark: a dataset generator and scenarios measured through the production server."""
