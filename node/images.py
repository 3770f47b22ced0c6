"""Uploaded icons (neighbourhood and organisation avatars), made safe to store and publish.

An icon arrives as untrusted bytes from an admin's browser and leaves as the avatar that other
servers (Mastodon and friends) fetch and show to everyone. Image decoders are a classic attack
surface and photos carry private metadata, so this module decodes as little as it can and keeps
nothing of the upload but its pixels:

- only PNG and JPEG are accepted, recognised from the content (never from a name or a type
  the browser declared);
- the pixel count in the header is checked before a single pixel is decoded, so a tiny file
  that unpacks into gigabytes (a decompression bomb) is refused cheaply;
- the picture is turned upright from its EXIF orientation, converted to sRGB, cropped to a
  centred square, scaled down to at most ICON_SIZE and written into a brand new file: no EXIF
  (GPS position, camera serial number), XMP, text chunk or ICC profile survives;
- every way Pillow can fail on a bad file becomes an InvalidInput that a form can show.

Pillow is imported on first use: an idle node never needs it (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.errors import InvalidInput
from node.i18n import N_

if TYPE_CHECKING:
    from PIL import Image, ImageCms

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the web layer refuses bigger bodies before calling us
MAX_PIXELS = 40_000_000  # width*height of the source: about 160 MB once decoded as RGBA
ICON_SIZE = 400  # Mastodon shows avatars at most 400 px wide
JPEG_QUALITY = 85

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# Pillow calls a JPEG holding several pictures (some phone cameras write them) "MPO";
# it decodes the first one, which is the ordinary photo.
_ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "MPO"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})

# What Pillow raises on damaged or hostile files besides its own UnidentifiedImageError
# (an OSError): "image file is truncated" (OSError), bad PNG chunks (SyntaxError), short
# headers (struct.error, EOFError, IndexError), odd field values (TypeError, KeyError,
# ValueError, ArithmeticError). Programming errors such as AttributeError still surface.
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    EOFError,
    ArithmeticError,
    struct.error,
)

# warnings.catch_warnings() swaps process-wide state and is not thread-safe before Python
# 3.14: two icons processed at once in worker threads could leave each other's filters
# installed for good. Icons are rare, so processing them one at a time costs nothing.
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """A re-encoded icon, ready to be stored under its content hash."""

    data: bytes
    media_type: str  # "image/png" or "image/jpeg"
    width: int
    height: int
    sha256: str  # hex digest of `data`

    @property
    def extension(self) -> str:
        return "png" if self.media_type == "image/png" else "jpg"


def process_icon(data: bytes, field: str = "icon") -> ProcessedImage:
    """Turn an uploaded PNG or JPEG into a square icon of at most ICON_SIZE pixels.

    Synchronous and CPU-bound: call process_icon_async from request handlers. Raises
    InvalidInput(field, ...) for anything that is not a readable, reasonably sized PNG or
    JPEG, and never another exception because of what the bytes contain.
    """
    if not data:
        raise InvalidInput(field, N_("choose an image file"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            field,
            N_("the image is too large (at most %(max)d MB)"),
            max=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
    from PIL import Image, UnidentifiedImageError

    with _quiet_pillow():
        try:
            icon = _crop_and_scale(_to_rgb(_decode(data, field)))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(field) from error
        except UnidentifiedImageError as error:
            # Nothing but the first bytes told Pillow what to try: without a PNG or JPEG
            # signature it is another kind of file, with one it is a damaged image.
            if data.startswith((_PNG_MAGIC, _JPEG_MAGIC)):
                raise _unreadable(field) from error
            raise InvalidInput(field, N_("choose a PNG or JPEG image")) from error
        except _UNREADABLE as error:
            raise _unreadable(field) from error
    return _encode(icon)


async def process_icon_async(data: bytes, field: str = "icon") -> ProcessedImage:
    """process_icon in a worker thread, so decoding does not stall the event loop."""
    return await asyncio.to_thread(process_icon, data, field)


def _unreadable(field: str) -> InvalidInput:
    return InvalidInput(field, N_("the image could not be read"))


def _too_many_pixels(field: str) -> InvalidInput:
    return InvalidInput(
        field,
        N_("the image has too many pixels (at most %(max)d megapixels)"),
        max=MAX_PIXELS // 1_000_000,
    )


@contextlib.contextmanager
def _quiet_pillow() -> Iterator[None]:
    from PIL import Image

    with _WARNINGS_LOCK, warnings.catch_warnings():
        # Pillow reports damaged metadata (EXIF, APNG chunks, MPO headers) with a
        # UserWarning and carries on; that metadata is thrown away here anyway, and the
        # warning would only fill the log (or fail the test suite, which treats warnings
        # as errors).
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        # Between its two limits Pillow only *warns* about a decompression bomb, from inside
        # Image.open, before our own stricter check can run: make it an error we refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _decode(data: bytes, field: str) -> Image.Image:
    """The upload's first picture, decoded and upright, refused before decoding if too big."""
    from PIL import Image, ImageOps

    # Image.open only reads the header; limiting the formats keeps every other decoder
    # (GIF, TIFF, BMP, WebP, ...) and its bugs away from untrusted bytes.
    picture = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
    if picture.format not in _ACCEPTED_FORMATS:
        raise InvalidInput(field, N_("choose a PNG or JPEG image"))
    width, height = picture.size
    if width < 1 or height < 1:
        raise _unreadable(field)
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(field)
    # libjpeg can decode at 1/2, 1/4 or 1/8 scale directly, keeping at least ICON_SIZE on
    # each side: a phone photo never needs its full size in memory. PNG ignores this.
    picture.draft(None, (ICON_SIZE, ICON_SIZE))
    picture.load()  # an animated PNG stays on its first frame
    # A broken EXIF block only costs the orientation: the pixels decoded fine.
    with contextlib.suppress(*_UNREADABLE):
        ImageOps.exif_transpose(picture, in_place=True)
    return picture


def _to_rgb(picture: Image.Image) -> Image.Image:
    """`picture` as sRGB in mode RGB, or RGBA if the source has any transparency."""
    icc_profile = picture.info.get("icc_profile")
    if picture.mode == "CMYK":
        # CMYK has no sensible colours without its profile; Pillow's plain conversion is
        # the fallback for files that carry none (or a broken one).
        return _to_srgb(picture, icc_profile, "RGB") or picture.convert("RGB")
    if picture.mode in _WIDE_GREY_MODES:
        return _wide_grey_to_rgb(picture)
    has_alpha = picture.mode in _ALPHA_MODES or "transparency" in picture.info
    target = "RGBA" if has_alpha else "RGB"
    if picture.mode != target:  # convert() to the same mode would copy up to 160 MB
        picture = picture.convert(target)
    return _to_srgb(picture, icc_profile, target) or picture


def _wide_grey_to_rgb(picture: Image.Image) -> Image.Image:
    """A 16-bit grey PNG, scaled down to 8 bits.

    Pillow's own convert("L") clips every value above 255 to white instead of scaling,
    and ignores a 16-bit transparent grey level.
    """
    from PIL import Image

    wide = picture if picture.mode == "I" else picture.convert("I")
    grey = wide.point(_grey_16_to_8(), "L")
    transparent = picture.info.get("transparency")
    if isinstance(transparent, int) and 0 <= transparent <= 0xFFFF:
        alpha = wide.point([0 if v == transparent else 255 for v in range(0x10000)], "L")
        return Image.merge("RGBA", (grey, grey, grey, alpha))
    return grey.convert("RGB")


@functools.cache
def _grey_16_to_8() -> list[int]:
    return [(v * 255 + 0x7FFF) // 0xFFFF for v in range(0x10000)]


def _to_srgb(picture: Image.Image, icc_profile: object, mode: str) -> Image.Image | None:
    """`picture` converted from its ICC profile to sRGB, or None when that cannot be done.

    The profile itself is dropped from the output (it can be large and identifying), so
    colours are converted first and the icon looks the same without it.
    """
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return None
    try:
        from PIL import ImageCms
    except ImportError:  # a Pillow built without Little CMS: keep the colours as they are
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(picture, source, _srgb_profile(), outputMode=mode)
    except (ImageCms.PyCMSError, *_UNREADABLE):
        # A broken profile, or one for another colour space (a grey profile on a picture
        # already made RGB): the uncorrected colours are close enough for an avatar.
        return None


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _crop_and_scale(picture: Image.Image) -> Image.Image:
    """The centred square of `picture`, scaled down to ICON_SIZE, never up."""
    from PIL import Image

    width, height = picture.size
    short = min(width, height)
    left, top = (width - short) // 2, (height - short) // 2
    box = (left, top, left + short, top + short)
    if short <= ICON_SIZE:
        return picture.crop(box)
    # reducing_gap first shrinks by whole factors with a cheap box filter, then LANCZOS
    # does the rest: the same quality as plain LANCZOS at a fraction of the time.
    return picture.resize((ICON_SIZE, ICON_SIZE), Image.Resampling.LANCZOS, box, 3.0)


def _encode(icon: Image.Image) -> ProcessedImage:
    from PIL import Image

    # A new image made from bare pixels has an empty info dict: no EXIF, XMP, text or
    # profile of the upload can ride along into the saved file.
    clean = Image.frombytes(icon.mode, icon.size, icon.tobytes())
    buffer = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(buffer, "PNG", optimize=True)
        media_type = "image/png"
    else:
        clean.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
        media_type = "image/jpeg"
    data = buffer.getvalue()
    return ProcessedImage(
        data=data,
        media_type=media_type,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
