"""HTTP resources: small classes that turn requests into lookups and back.

Responders are coroutines: the app is ASGI only (api.app.create_app).
"""
