"""The data-quality and exploration report: `python -m report`.

Reads only the dbt marts (so the report, the docs site and the API show the
same figures), draws them with matplotlib and writes one self-contained HTML
file. The exploratory SQL behind it lives in `analyses/`.
"""
