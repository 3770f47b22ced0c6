"""Migration operations that mend what tortoise's own do badly on SQLite.

Rolling an `AddField` back on SQLite makes tortoise rebuild the table: the rebuild keeps
a foreign key's `_id` column (so upgrading again fails with "duplicate column") and
drops the table's indexes. SQLite (3.35 and newer) can drop a plain column in place,
which keeps everything else as it was: `AddColumn` does that. `AlterChoices` records a
choice field's new values without the table rebuild that fails on tables with rows
that others point at.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor


class AddColumn(ops.AddField):
    """`AddField` whose rollback on SQLite is `ALTER TABLE ... DROP COLUMN`."""

    async def database_backward(
        self,
        app_label: str,
        old_state: Any,  # tortoise's migration State
        new_state: Any,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is None or state_editor.DIALECT != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        field = model._meta.fields_map[self.name]
        column = getattr(field, "source_field", None) or field.model_field_name
        await state_editor._run_sql(f'ALTER TABLE "{model._meta.db_table}" DROP COLUMN "{column}"')


class AlterChoices(ops.AlterField):
    """`AlterField` of a choice field whose column does not change (an enum gained a
    value): only tortoise's record of the model changes. On SQLite tortoise would rebuild
    the whole table for it, which fails once other tables' rows point at it."""

    async def database_forward(
        self,
        app_label: str,
        old_state: Any,
        new_state: Any,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        return None

    database_backward = database_forward
