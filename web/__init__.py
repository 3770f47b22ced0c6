"""Residents' pages: server-rendered, multilingual, thin over `node` services."""
