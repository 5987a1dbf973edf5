"""Stage Parquet files into the warehouse's ``raw`` schema, exactly as they are.

``python -m loader load FILE`` replaces ``raw.vouchers`` with the file's rows, every
column as text, atomically; dbt does all cleaning. One job per module:

- ``settings``: which warehouse, and how to reach it (the env vars dbt reads);
- ``raw_schema``: the tables, columns and DDL of the ``raw`` schema;
- ``parquet_source``: validate a file and stream it as text batches;
- ``text_format``: the canonical text of non-string Parquet values;
- ``load``: tie a source to a warehouse and report what happened;
- ``duckdb_warehouse``, ``postgres_warehouse``: swap a load in, atomically;
- ``postgres_copy``: COPY batches into PostgreSQL as CSV;
- ``prefetch``: produce batches in a thread, ahead of the writer;
- ``synthetic``: realistic, dirty demo data with the real file's schema;
- ``__main__``, ``progress``, ``log_format``: the command line and its output.
"""
