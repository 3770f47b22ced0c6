"""ActivityPub for Nabuur: actors, discovery, signatures, inbox and delivery.

Uses `node` services and models; never imports `web` or `admin`.
"""
