"""Needs surveys: a question a neighbourhood's Group publishes as an ActivityPub
`Question`, and the votes of residents here and of people on other servers."""

import uuid

from tortoise import fields
from tortoise.models import Model


class Survey(Model):
    """The poll of one neighbourhood. A survey published for several neighbourhoods is one row
    per neighbourhood sharing a `series`, so each Group's `Question` counts its own votes
    and the figures stay per neighbourhood."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    series = fields.UUIDField(default=uuid.uuid4)
    neighbourhood = fields.ForeignKeyField(
        "nabuur.Neighbourhood", related_name="surveys", on_delete=fields.RESTRICT
    )
    # Published for an organisation by its staff (None: by a connector or an admin).
    organisation = fields.ForeignKeyField(
        "nabuur.Organisation", related_name="surveys", null=True, on_delete=fields.SET_NULL
    )
    author = fields.ForeignKeyField(
        "nabuur.Account", related_name="surveys", null=True, on_delete=fields.SET_NULL
    )
    language = fields.CharField(max_length=8)  # the lead language of question and options
    question = fields.JSONField(default=dict)  # {"nl": "...", "fr": "..."}
    # [{"nl": "Boodschappen", "fr": "Courses"}, ...]: fixed once published, because
    # Mastodon ignores an Update that changes a poll's options.
    options = fields.JSONField(default=list)
    multiple = fields.BooleanField(default=False)  # anyOf, else oneOf
    # Residents of this node may change their vote while it is open (remote voters
    # cannot: Mastodon sends a vote once).
    changeable = fields.BooleanField(default=True, db_default=True)
    closes_at = fields.DatetimeField()
    # The last `Update` with counts went out (debounced), and the final one at closing.
    counts_sent_at = fields.DatetimeField(null=True)
    closed_sent_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "surveys"
        indexes = (("neighbourhood_id", "closes_at"), ("series",))

    def question_in(self, language: str) -> str:
        return self.question.get(language) or self.question.get(self.language, "")

    def option_labels(self, language: str) -> list[str]:
        return [opt.get(language) or opt.get(self.language, "") for opt in self.options]


class SurveyVote(Model):
    """One chosen option of one voter (a multiple-choice vote is several rows)."""

    id = fields.IntField(primary_key=True)
    survey = fields.ForeignKeyField("nabuur.Survey", related_name="votes", on_delete=fields.CASCADE)
    option = fields.SmallIntField()
    account = fields.ForeignKeyField(
        "nabuur.Account", related_name="survey_votes", null=True, on_delete=fields.CASCADE
    )
    remote_actor = fields.ForeignKeyField(
        "nabuur.RemoteActor", related_name="survey_votes", null=True, on_delete=fields.CASCADE
    )
    # The voter's Note id (Mastodon: "<actor>#votes/<n>"): a vote delivered twice is one.
    note_uri = fields.CharField(max_length=500, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "survey_votes"
        unique_together = (("survey", "account", "option"), ("survey", "remote_actor", "option"))
