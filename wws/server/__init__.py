"""The HTTP side: the ASGI application factory."""

from wws.server.app import create_app

__all__ = ["create_app"]
