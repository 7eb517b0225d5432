"""A reader's text table to the schema's columns and types: columns and labels, coercion, formats."""
