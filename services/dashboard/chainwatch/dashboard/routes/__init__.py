"""The dashboard's routers: pages, the JSON API, the live feed websocket, health."""
