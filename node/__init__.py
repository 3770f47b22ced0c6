"""Nabuur's node: domain model, rules, storage, configuration, the app and the CLI.

This package imports none of `federation`, `web` or `admin`; only `node.app`, the
composition root, mounts their routes.
"""

__version__ = "0.1.0"
