"""Stage Parquet files into the warehouse's ``raw`` schema, exactly as they are.

The package has one job per module:

- ``parquet_source``: validate a Parquet file and stream it as text batches;
- ``text_format``: the canonical text form of non-string Parquet columns;
- ``duckdb_warehouse`` / ``postgres_warehouse``: swap a file into ``raw.vouchers``;
- ``load``: tie a source to a warehouse and report what happened;
- ``synthetic``: generate realistic, dirty demo data with the real file's schema;
- ``__main__``: the ``python -m loader`` command line.
"""
