"""HTTP resources: small classes that turn requests into lookups and back.

Each responder exists twice: on_get/on_post for the WSGI app and an *_async twin
for the ASGI app (routed with suffix="async"); both call the same code.
"""
