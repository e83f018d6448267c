"""The JSON API's HTTP routes, one module per area, and its WebSocket streams."""

from minicanton.json_api.routes import commands, health, packages, parties, queries, users
from minicanton.json_api.streams import router as streams_router

ROUTERS = [health.router, commands.router, queries.router, parties.router, users.router,
           packages.router, streams_router]
