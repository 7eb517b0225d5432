"""Tests of the catalogue: pages, DCAT, the browser, serving."""
