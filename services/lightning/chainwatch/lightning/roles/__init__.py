"""Node roles: can the graph tell a known service (LSP, exchange, payment processor, wallet,
routing business) from a private node? A logistic-regression baseline on each node's own
features against a GCN that also sees its neighbours'. ``python -m
chainwatch.lightning.roles`` runs the comparison; the verdict is in docs/lightning.md.
"""
