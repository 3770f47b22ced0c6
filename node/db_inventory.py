"""What the node's database holds, table by table: for backups, moves and checks.

`tables()` lists every model in an order where a table comes after the tables it points
to (copying in that order never breaks a foreign key); `row_counts()` counts each one.
Both read the models tortoise knows, so a new model is covered without editing a list.
"""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.models import Model

from node.db import APP_LABEL


def _depends_on(model: type[Model]) -> set[type[Model]]:
    meta = model._meta
    related = set()
    for name in meta.fk_fields | meta.o2o_fields:
        related.add(meta.fields_map[name].related_model)
    related.discard(model)  # a row pointing to its own table (replies, say)
    return related


def tables() -> list[type[Model]]:
    """Every model of the node, parents before children, then by table name."""
    models = sorted(Tortoise.apps[APP_LABEL].values(), key=lambda m: m._meta.db_table)
    ordered: list[type[Model]] = []
    placed: set[type[Model]] = set()
    while len(ordered) < len(models):
        ready = [m for m in models if m not in placed and _depends_on(m) <= placed]
        if not ready:  # a cycle between tables: none today; fail loudly rather than guess
            left = sorted(m._meta.db_table for m in models if m not in placed)
            raise RuntimeError(f"foreign keys form a cycle among {left}")
        ordered.extend(ready)
        placed.update(ready)
    return ordered


def self_referencing(model: type[Model]) -> list[str]:
    """The foreign-key columns of `model` that point to its own table."""
    meta = model._meta
    return sorted(
        meta.fields_map[name].source_field or f"{name}_id"
        for name in meta.fk_fields | meta.o2o_fields
        if meta.fields_map[name].related_model is model
    )


async def row_counts() -> dict[str, int]:
    """Rows per table, keyed by table name (the ORM must be open)."""
    return {model._meta.db_table: await model.all().count() for model in tables()}
