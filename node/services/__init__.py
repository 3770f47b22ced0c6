"""Services: the rules of the node as plain async functions.

Web, admin and federation call these and never write models themselves. Each function
validates, checks permissions, changes data and emits events in one transaction, and
raises a `node.errors.DomainError` when a rule says no.
"""
