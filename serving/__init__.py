"""Write-audit-publish between dbt and the API.

dbt builds and tests into its own schemas (staging, intermediate, marts);
``python -m serving publish`` audits the build (serving.audit) and, only if
every node passed, copies the exposed tables into the ``serving`` schema in one
transaction (serving.publish), which is all the API and the report read.
"""
