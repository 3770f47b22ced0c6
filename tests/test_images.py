"""Uploaded icons: what comes out is a small, clean PNG or JPEG, and bad uploads are refused.

Every image is made with Pillow here, so the repository holds no binary fixtures.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, ImageFile
from PIL.PngImagePlugin import PngInfo

from node.errors import InvalidInput
from node.images import (
    ICON_SIZE,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    ProcessedImage,
    process_icon,
    process_icon_async,
)

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)

CHOOSE_FILE = "choose an image file"
NOT_PNG_OR_JPEG = "choose a PNG or JPEG image"
UNREADABLE = "the image could not be read"
TOO_MANY_PIXELS = "the image has too many pixels (at most %(max)d megapixels)"


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def reopen(result: ProcessedImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def png_chunk_types(data: bytes) -> list[bytes]:
    types, offset = [], len(PNG_MAGIC)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        types.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of the segments before the compressed data (SOS, 0xDA)."""
    markers, offset = [], 2
    while data[offset + 1] != 0xDA:
        markers.append(data[offset + 1])
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height`: a few bytes that would decode to GBs."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 1024)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_with_header(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), BLUE), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def rejection(data: bytes, field: str = "icon") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        process_icon(data, field)
    assert caught.value.field == field
    return caught.value


# --- what comes out -------------------------------------------------------------------


def test_a_png_with_alpha_stays_a_png_with_alpha() -> None:
    result = process_icon(encode(Image.new("RGBA", (1000, 700), (255, 0, 0, 128)), "PNG"))
    assert (result.media_type, result.extension) == ("image/png", "png")
    assert (result.width, result.height) == (ICON_SIZE, ICON_SIZE)
    image = reopen(result)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (400, 400))
    assert near(image.getpixel((200, 200)), (255, 0, 0, 128), 2)


def test_an_rgb_jpeg_becomes_a_jpeg_with_its_hash() -> None:
    result = process_icon(encode(Image.new("RGB", (1200, 900), BLUE), "JPEG"))
    assert (result.media_type, result.extension) == ("image/jpeg", "jpg")
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    image = reopen(result)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (400, 400))
    assert near(image.getpixel((10, 10)), BLUE)


def test_a_jpeg_is_baseline_with_only_its_own_segments() -> None:
    result = process_icon(encode(Image.new("RGB", (500, 500), BLUE), "JPEG", progressive=True))
    markers = jpeg_markers(result.data)
    assert 0xC0 in markers  # baseline, not progressive (0xC2)
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE]  # no APPn but JFIF, no COM


def test_the_centre_is_kept_and_the_sides_cropped_away() -> None:
    image = Image.new("RGB", (1200, 800), GREEN)
    image.paste(BLUE, (200, 0, 1000, 800))  # 800 wide blue centre, green bands on each side
    result = reopen(process_icon(encode(image, "PNG")))
    for corner in ((2, 2), (397, 2), (2, 397), (397, 397)):
        assert near(result.getpixel(corner), BLUE), corner


@pytest.mark.parametrize(
    ("size", "expected"),
    [((50, 80), (50, 50)), ((80, 50), (50, 50)), ((1, 1), (1, 1)), ((400, 401), (400, 400))],
)
def test_a_small_source_is_cropped_but_never_scaled_up(size, expected) -> None:
    result = process_icon(encode(Image.new("RGB", size, RED), "PNG"))
    assert (result.width, result.height) == expected
    assert reopen(result).size == expected


def test_a_big_photo_is_scaled_down() -> None:
    photo = Image.radial_gradient("L").resize((4000, 3000)).convert("RGB")
    result = process_icon(encode(photo, "JPEG", quality=90))
    assert reopen(result).size == (400, 400)


def test_exif_orientation_is_applied_before_cropping() -> None:
    # Stored 400x200 on its side; Orientation 6 means "turn 90° clockwise to show". The
    # red marker, at the top edge of the stored picture, must end up at the top right.
    stored = Image.new("RGB", (400, 200), BLUE)
    stored.paste(RED, (100, 0, 140, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    result = reopen(process_icon(encode(stored, "JPEG", exif=exif, quality=95)))
    assert result.size == (200, 200)
    assert near(result.getpixel((185, 15)), RED)  # turned clockwise: top right
    assert near(result.getpixel((15, 15)), BLUE)  # not turned at all: top left
    assert near(result.getpixel((15, 185)), BLUE)  # turned the wrong way: bottom left


def test_no_metadata_survives_a_jpeg() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.Make] = "Camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upload = encode(
        Image.new("RGB", (300, 300), BLUE),
        "JPEG",
        exif=exif,
        icc_profile=icc,
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
        comment=b"taken at home",
    )
    source = Image.open(io.BytesIO(upload))
    assert {"exif", "icc_profile", "xmp", "comment"} <= source.info.keys()  # the test is real

    result = process_icon(upload)
    image = reopen(result)
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "icc_profile", "xmp", "comment"} & image.info.keys()
    assert b"Camera" not in result.data and b"xmpmeta" not in result.data
    assert near(image.getpixel((150, 150)), BLUE)


def test_no_metadata_survives_a_png() -> None:
    text = PngInfo()
    text.add_text("Author", "Els")
    text.add_itxt("Comment", "our street", zip=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upload = encode(
        Image.new("RGBA", (300, 300), (0, 0, 255, 200)),
        "PNG",
        pnginfo=text,
        exif=exif,
        icc_profile=icc,
    )
    assert {b"tEXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunk_types(upload))

    result = process_icon(upload)
    assert set(png_chunk_types(result.data)) <= {b"IHDR", b"IDAT", b"IEND"}
    image = reopen(result)
    assert image.info == {}
    assert not image.getexif()
    # The sRGB profile was applied, not just dropped: colours and alpha are unchanged.
    assert near(image.getpixel((150, 150)), (0, 0, 255, 200), 3)


def test_a_broken_icc_profile_is_dropped() -> None:
    upload = encode(Image.new("RGB", (100, 100), RED), "JPEG", icc_profile=b"not a profile" * 20)
    image = reopen(process_icon(upload))
    assert "icc_profile" not in image.info
    assert near(image.getpixel((50, 50)), RED)


def test_a_cmyk_jpeg_becomes_rgb() -> None:
    upload = encode(Image.new("CMYK", (300, 300), (255, 0, 0, 0)), "JPEG")  # pure cyan
    assert Image.open(io.BytesIO(upload)).mode == "CMYK"
    image = reopen(process_icon(upload))
    assert (image.format, image.mode) == ("JPEG", "RGB")
    assert near(image.getpixel((150, 150)), (0, 255, 255))


def test_a_palette_png_with_transparency_keeps_it() -> None:
    palette = Image.new("P", (60, 60), 0)
    palette.putpalette([*RED, *GREEN])
    palette.paste(1, (0, 0, 30, 60))
    upload = encode(palette, "PNG", transparency=1)  # the green left half is transparent
    result = process_icon(upload)
    image = reopen(result)
    assert (result.media_type, image.mode) == ("image/png", "RGBA")
    assert image.getpixel((10, 30))[3] == 0
    assert image.getpixel((50, 30)) == (*RED, 255)


def test_a_palette_png_without_transparency_becomes_a_jpeg() -> None:
    palette = Image.new("RGB", (60, 60), RED).convert("P")
    result = process_icon(encode(palette, "PNG"))
    assert result.media_type == "image/jpeg"
    assert near(reopen(result).getpixel((30, 30)), RED)


def test_an_rgb_png_with_a_transparent_colour_becomes_rgba() -> None:
    image = Image.new("RGB", (40, 40), RED)
    image.paste(BLUE, (0, 0, 20, 40))
    result = reopen(process_icon(encode(image, "PNG", transparency=BLUE)))
    assert result.mode == "RGBA"
    assert result.getpixel((5, 20))[3] == 0
    assert result.getpixel((35, 20)) == (*RED, 255)


def test_a_16_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (64, 64), 0x8000)  # mid grey; a plain convert("L") gives white
    upload = encode(grey, "PNG")
    assert Image.open(io.BytesIO(upload)).mode.startswith("I")
    result = process_icon(upload)
    image = reopen(result)
    assert (result.media_type, image.mode) == ("image/jpeg", "RGB")
    assert near(image.getpixel((32, 32)), (128, 128, 128), 3)


def test_a_16_bit_grey_png_keeps_its_transparent_level() -> None:
    grey = Image.new("I;16", (64, 64), 1000)
    # paste(60000, box) would write 0x6060: Pillow fills I;16 with the low byte twice.
    grey.paste(Image.new("I;16", (32, 64), 60000), (32, 0))
    image = reopen(process_icon(encode(grey, "PNG", transparency=1000)))
    assert image.mode == "RGBA"
    assert image.getpixel((10, 32))[3] == 0
    assert near(image.getpixel((50, 32)), (233, 233, 233, 255), 2)


@pytest.mark.parametrize("mode", ["LA", "L", "1"])
def test_grey_pngs_come_out_in_colour_modes(mode: str) -> None:
    source = Image.new("LA", (80, 60), (200, 100)).convert(mode)
    result = process_icon(encode(source, "PNG"))
    image = reopen(result)
    assert image.mode == ("RGBA" if mode == "LA" else "RGB")
    assert image.size == (60, 60)


def test_a_grey_jpeg_comes_out_rgb() -> None:
    image = reopen(process_icon(encode(Image.new("L", (90, 90), 77), "JPEG")))
    assert image.mode == "RGB"


def test_an_animated_png_gives_its_first_frame() -> None:
    first, second = (
        Image.new("RGBA", (50, 50), (*RED, 255)),
        Image.new("RGBA", (50, 50), (*GREEN, 255)),
    )
    upload = encode(first, "PNG", save_all=True, append_images=[second], duration=100)
    assert getattr(Image.open(io.BytesIO(upload)), "n_frames", 1) == 2
    image = reopen(process_icon(upload))
    assert image.getpixel((25, 25)) == (*RED, 255)


def test_a_multi_picture_jpeg_gives_its_first_picture() -> None:
    first, second = Image.new("RGB", (50, 50), RED), Image.new("RGB", (50, 50), GREEN)
    upload = encode(first, "MPO", save_all=True, append_images=[second])
    result = process_icon(upload)
    assert result.media_type == "image/jpeg"
    assert near(reopen(result).getpixel((25, 25)), RED)


async def test_the_async_version_gives_the_same_result() -> None:
    upload = encode(Image.new("RGBA", (500, 300), (10, 20, 30, 40)), "PNG")
    assert await process_icon_async(upload) == process_icon(upload)
    with pytest.raises(InvalidInput) as caught:
        await process_icon_async(b"", "logo")
    assert caught.value.field == "logo"


# --- what is refused ------------------------------------------------------------------


def test_an_empty_upload_is_refused() -> None:
    assert rejection(b"").template == CHOOSE_FILE


def test_the_field_name_is_the_callers() -> None:
    assert rejection(b"GIF89a", field="logo").field == "logo"


def test_too_many_bytes_are_refused_before_looking_at_them() -> None:
    error = rejection(PNG_MAGIC + b"\x00" * MAX_UPLOAD_BYTES)
    assert error.params == {"max": 5}
    assert error.message == "the image is too large (at most 5 MB)"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF", "ICO", "PPM"])
def test_other_image_formats_are_refused(fmt: str) -> None:
    assert rejection(encode(Image.new("RGB", (32, 32), RED), fmt)).template == NOT_PNG_OR_JPEG


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        b"hello, neighbours\n",
        bytes(range(256)) * 4,
    ],
    ids=["svg", "text", "bytes"],
)
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    assert rejection(data).template == NOT_PNG_OR_JPEG


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.5, 0.9, 20, 8])
def test_a_truncated_image_could_not_be_read(fmt: str, keep: float) -> None:
    noise = Image.effect_noise((300, 300), 64).convert("RGB")  # noise: no tiny compressed file
    data = encode(noise, fmt)
    cut = int(len(data) * keep) if keep < 1 else int(keep)
    assert rejection(data[:cut]).template == UNREADABLE


@pytest.mark.parametrize(
    "upload",
    [
        png_with_header(7_000, 7_000),  # 49 MP: over our limit, under Pillow's
        png_with_header(10_000, 10_000),  # 100 MP: Pillow would only warn
        png_with_header(20_000, 20_000),  # 400 MP: Pillow raises DecompressionBombError
        png_with_header(0x7FFFFFFF, 0x7FFFFFFF),
        jpeg_with_header(30_000, 30_000),
        jpeg_with_header(65_535, 1_000),
    ],
    ids=["png-49MP", "png-100MP", "png-400MP", "png-max", "jpeg-900MP", "jpeg-65MP"],
)
def test_a_decompression_bomb_is_refused_before_decoding(upload: bytes, monkeypatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        error = rejection(upload)
    assert time.perf_counter() - started < 1
    assert escaped == []
    assert (error.template, error.params) == (TOO_MANY_PIXELS, {"max": MAX_PIXELS // 1_000_000})


def test_a_bomb_does_not_change_pillows_global_limit() -> None:
    before = Image.MAX_IMAGE_PIXELS
    rejection(png_with_header(10_000, 10_000))
    assert before == Image.MAX_IMAGE_PIXELS
    # ...nor leave our warning filters behind.
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(io.BytesIO(png_with_header(10_000, 10_000)))


# --- whatever the bytes ---------------------------------------------------------------


def _small_samples() -> list[bytes]:
    noise = Image.effect_noise((24, 20), 50)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Camera"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.0)
    frames = [noise.convert("RGBA"), Image.new("RGBA", (24, 20), (*RED, 255))]
    return [
        encode(noise.convert("RGBA"), "PNG"),
        encode(noise.convert("RGB"), "JPEG"),
        # Damaged EXIF and APNG chunks make Pillow warn: none of that may escape.
        encode(noise.convert("RGB"), "JPEG", exif=exif),
        encode(frames[0], "PNG", save_all=True, append_images=frames[1:]),
    ]


SMALL_SAMPLES = _small_samples()


def assert_icon_or_refused(data: bytes) -> None:
    try:
        result = process_icon(data)
    except InvalidInput as error:
        assert error.field == "icon"
        return
    image = reopen(result)
    assert image.format in {"PNG", "JPEG"}
    assert image.width == image.height <= ICON_SIZE
    assert (result.width, result.height) == image.size
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_give_an_icon_or_invalid_input(data: bytes) -> None:
    assert_icon_or_refused(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([PNG_MAGIC, JPEG_MAGIC]), st.binary(max_size=4096))
def test_any_bytes_after_a_signature_give_an_icon_or_invalid_input(magic, rest) -> None:
    assert_icon_or_refused(magic + rest)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SMALL_SAMPLES),
    # Mostly in the headers, where the parsing happens, sometimes anywhere.
    st.lists(
        st.tuples(st.one_of(st.integers(0, 400), st.integers(min_value=0)), st.integers(0, 255)),
        max_size=8,
    ),
    st.integers(min_value=1),
)
def test_a_damaged_real_image_gives_an_icon_or_invalid_input(original, changes, cut) -> None:
    data = bytearray(original)
    for position, value in changes:
        data[position % len(data)] = value
    assert_icon_or_refused(bytes(data[: max(1, len(data) - cut % 64)]))


def test_importing_the_module_does_not_import_pillow() -> None:
    code = "import sys, node.images; print('PIL' in sys.modules)"
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
