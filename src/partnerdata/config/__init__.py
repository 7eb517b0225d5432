"""sources.yaml and the schemas: load, expand, check; the layout of every folder and file name."""
