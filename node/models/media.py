"""Images uploaded by admins (neighbourhood and organisation icons), kept in the database.

Stored in the database rather than on disk so that backups hold them and every server
process (on one machine or several) serves the same file. Named by the SHA-256 of their
content: a URL never changes meaning, so it may be cached for ever.
"""

from tortoise import fields
from tortoise.models import Model


class MediaFile(Model):
    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, unique=True)
    media_type = fields.CharField(max_length=40)
    data = fields.BinaryField()
    width = fields.SmallIntField()
    height = fields.SmallIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media_files"

    @property
    def extension(self) -> str:
        return "png" if self.media_type == "image/png" else "jpg"
