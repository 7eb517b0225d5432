"""Whole runs: the flows, the command line, hostile input, Dask, the deployment, the layers."""
