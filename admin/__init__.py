"""The organisation and moderation dashboard: thin pages over `node` services."""
