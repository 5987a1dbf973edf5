"""The entry point: gunicorn --config api/gunicorn.conf.py api.asgi:app"""

from api.app import create_app

app = create_app()
