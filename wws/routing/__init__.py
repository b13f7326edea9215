"""File routes: discovery of handler files (I/O) apart from the pure router (matching, priority)."""

from wws.routing.discovery import discover_routes
from wws.routing.router import Route, Router, route_for

__all__ = ["Route", "Router", "discover_routes", "route_for"]
