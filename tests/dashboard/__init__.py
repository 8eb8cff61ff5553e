"""Tests of the dashboard service: feed, API, pages, websocket and a real browser."""
