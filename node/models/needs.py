"""The needs figures kept per month, so that /admin/needs reads a few thousand summary
rows instead of sorting every post of the year on each view (`node.services.needs_rollup`
keeps them in step with the posts)."""

from tortoise import fields
from tortoise.models import Model


class NeedsMonth(Model):
    """The posts created in one month, in one neighbourhood and category, of one kind and
    one organisation (0: posted by residents): counts, and the waits the medians need."""

    id = fields.IntField(primary_key=True)
    month = fields.CharField(max_length=7)  # YYYY-MM, UTC
    # Plain ids, not foreign keys: a summary that is rebuilt, never a reference to keep.
    neighbourhood_id = fields.IntField()
    category = fields.CharField(max_length=20)
    kind = fields.CharField(max_length=10)
    # 0: posted by residents; -1: every post whatever its organisation (the node's view).
    organisation_id = fields.IntField(default=0)
    posted = fields.IntField(default=0)
    matched = fields.IntField(default=0)
    done = fields.IntField(default=0)
    expired = fields.IntField(default=0)
    withdrawn = fields.IntField(default=0)
    closed = fields.IntField(default=0)  # no longer open
    unmatched = fields.IntField(default=0)  # closed without ever finding a helper
    # Hidden by a moderator: left out of every figure, counted so that the rows' total
    # can be checked against the table's in one cheap COUNT(*).
    hidden = fields.IntField(default=0)
    # Seconds from posting to the first offer, and to the first match, sorted.
    offer_waits = fields.JSONField(default=list)
    match_waits = fields.JSONField(default=list)
    refreshed_at = fields.DatetimeField()

    class Meta:
        table = "needs_months"
        unique_together = (("month", "neighbourhood_id", "category", "kind", "organisation_id"),)
        indexes = (("refreshed_at",),)
