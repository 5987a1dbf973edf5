"""The Falcon service that answers voucher lookups from the dbt marts.

The data flows raw -> staging -> intermediate -> marts -> api: this package only
reads the marts (into an in-memory snapshot) and looks answers up; every business
rule lives in the dbt project.
"""
