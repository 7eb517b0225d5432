"""The partner inbox: a small web application where partners check and deliver their own files."""
