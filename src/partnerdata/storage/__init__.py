"""Where raw/, published/ and reports/ live: a local folder, or an ``s3://bucket/prefix`` location
worked on through a local working copy (``published``)."""
