"""One module per page family; each handler parses, calls a node service, renders."""
