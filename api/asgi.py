"""ASGI entry point (the default, faster): gunicorn --config api/gunicorn.conf.py"""

from api.app import create_asgi_app

app = create_asgi_app()
