"""How every part of the product reaches the warehouse, written once.

The loader, dbt (through ``profiles.yml``), the publish step, the API and the
report read the same environment variables with the same defaults
(``dwh.settings``), read published data through one read-only reader
(``dwh.reader``), raise one error type (``dwh.errors``) and log in one JSON
format (``dwh.log_format``).
"""
