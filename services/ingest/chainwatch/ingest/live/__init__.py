"""The live source: a mempool.space / Esplora instance over websocket and REST.

``client`` makes REST calls (timeouts, retries, 429), ``messages`` parses what the websocket
sends, ``source`` turns both into transactions and events on the bus, ``seen`` remembers
what was published across reconnects and restarts, ``health`` reports how the source is.
"""
