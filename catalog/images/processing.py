"""Pictures in, pictures out: check an upload, orient it, strip it, resize and encode it.

Pure Pillow, no Flask, so that the rules are tested on bytes and the cost is measured
alone. Nothing about an upload is trusted but what Pillow decodes from it: the file
name and the Content-Type are not even looked at here. In order, each step cheap
before the expensive ones:

1. The byte count, against ``max_bytes``.
2. The first bytes: a JPEG, PNG, GIF or WebP signature, or a refusal (SVG, HTML, PDF
   and anything else). Pillow is then told to open only that format.
3. Polyglots: markup or script anywhere in the file, a PDF header near its start, a
   ZIP directory at its end. The bytes uploaded are never served (only the files made
   below are), so such a file could do no harm here; it is refused all the same,
   rather than stored as something it is not only.
4. ``Image.open`` reads the header alone; the pixel count is checked against
   ``max_pixels`` before a single pixel is decoded, so a decompression bomb (a small
   file claiming huge dimensions) costs microseconds.
5. ``load()`` decodes the first frame (of a GIF or an animated WebP, the rest are
   never read); a truncated or damaged file fails here.
6. EXIF orientation is applied, colours are converted to sRGB when the file carries a
   colour profile, and every piece of metadata (EXIF with any GPS position, XMP, the
   profile, comments) is left behind: the files are written from pixels only.
7. The normalised original is written in its family's format (JPEG stays JPEG; PNG and
   GIF become PNG; WebP stays WebP, lossless when it was), and its SHA-256 names the
   picture. From it, once: a display copy and a thumbnail (``SIZES``), each in WebP and
   in JPEG for browsers without WebP. Pillow writes the same bytes for the same pixels,
   so an identical upload gets the same name and is stored once.
"""

import hashlib
import io
import re
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

# What pages use, by name: the name is in the URL, so a size, once served, never changes.
THUMBNAIL = "200"
DISPLAY = "1200"
SIZES = {THUMBNAIL: 200, DISPLAY: 1200}
ORIGINAL = "full"
# The formats a picture may come in, by their first bytes, as Pillow names them.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
# The original's file extension, by the upload's format.
_ORIGINAL_EXTENSION = {"JPEG": "jpg", "PNG": "png", "GIF": "png", "WEBP": "webp"}
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# The most Pillow itself lets through without calling it a decompression bomb.
PIXELS_CEILING = Image.MAX_IMAGE_PIXELS or 89_478_485
# Markup or script a browser or an interpreter would act on. Each pattern is long enough
# that compressed pixel data, which looks random, holds it by chance about once in a
# hundred thousand 5 MB files or less.
_MARKUP = re.compile(
    rb"<script|<html[\s>]|<body[\s>]|<iframe|<svg\s[^>]{0,200}xmlns|<!doctype\s+html"
    rb"|<\?php\s|javascript:",
    re.IGNORECASE,
)
# A ZIP (or JAR) is read from its end-of-directory record, within 64 KiB of the end;
# a PDF reader looks for its header within the first KiB.
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL = 65_557
_PDF_HEAD = 1024
_WHITE = (255, 255, 255)
_SRGB = ImageCms.createProfile("sRGB")


class Refused(ValueError):
    """An upload that is not accepted; ``str()`` says why, for the person who sent it."""

    status = 422


class TooLarge(Refused):
    """Over the byte or pixel limit."""

    status = 413


class NotAPicture(Refused):
    """Not a JPEG, PNG, WebP or GIF picture, whatever its name or type said."""

    status = 415


class Damaged(Refused):
    """A picture that cannot be read: truncated, corrupt, or more than a picture."""


@dataclass(frozen=True)
class File:
    """One file of a picture, as it is served at ``/images/<sha256>-<variant>``."""

    variant: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Picture:
    """A checked, normalised picture and every file made from it."""

    sha256: str
    width: int
    height: int
    format: str
    files: tuple[File, ...]


def megabytes(count: int) -> str:
    """Return a byte count for people: ``5 MB``, ``6.2 MB``."""
    return f"{count / 1_000_000:.1f}".removesuffix(".0") + " MB"


def fit(width: int, height: int, bound: int) -> tuple[int, int]:
    """Return ``width`` × ``height`` scaled to fit in a square of ``bound``, never enlarged."""
    longest = max(width, height)
    if longest <= bound:
        return width, height
    return max(1, round(width * bound / longest)), max(1, round(height * bound / longest))


def variants(format: str) -> tuple[str, ...]:
    """Return the variant names of a picture whose original has the extension ``format``."""
    return (
        f"{ORIGINAL}.{format}",
        *(f"{size}.{extension}" for size in SIZES for extension in ("webp", "jpg")),
    )


def _sniff(data: bytes) -> str:
    """Return the format the first bytes announce, or raise ``NotAPicture``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, format in _SIGNATURES:
        if data.startswith(signature):
            return format
    raise NotAPicture("This file is not a JPEG, PNG, WebP or GIF picture.")


def _refuse_polyglots(data: bytes) -> None:
    """Raise ``Damaged`` when the file is also something other than a picture."""
    if _MARKUP.search(data) or b"%PDF-" in data[:_PDF_HEAD] or _ZIP_END in data[-_ZIP_TAIL:]:
        raise Damaged(
            "This file holds something besides a picture (markup, script, an archive or "
            "a PDF); upload the picture alone."
        )


def _is_lossless_webp(data: bytes) -> bool:
    """Tell whether a WebP file's image is VP8L (lossless), walking its RIFF chunks."""
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        if kind in (b"VP8 ", b"VP8L"):
            return kind == b"VP8L"
        if kind == b"ANMF":  # an animation frame: its image chunks follow its 16-byte header
            offset += 8 + 16
            continue
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return False


def _open(data: bytes, format: str, max_pixels: int) -> Image.Image:
    """Open ``data`` as ``format`` and check its size, reading its header only."""
    try:
        image = Image.open(io.BytesIO(data), formats=[format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(_too_many_pixels(None, max_pixels)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Damaged("This picture is damaged and cannot be read.") from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise TooLarge(_too_many_pixels((width, height), max_pixels))
    return image


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> str:
    limit = f"the largest accepted is {max_pixels / 1_000_000:g} megapixels"
    if size is None:
        return f"This picture has too many pixels; {limit}."
    width, height = size
    return (
        f"This picture is {width:,} × {height:,} pixels "
        f"({width * height / 1_000_000:.1f} megapixels); {limit}."
    )


def _decode(image: Image.Image) -> Image.Image:
    """Decode the first frame; raise ``Damaged`` for a truncated or corrupt file."""
    try:
        image.load()
    # Decoders meet hostile bytes here: whatever they raise means "cannot be read".
    except Exception as exc:
        raise Damaged(
            "This picture is damaged or incomplete (was the upload cut short?) and cannot be read."
        ) from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels described by an embedded colour profile to sRGB, without the profile."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image, source, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    # A broken or unusable profile: the pixels are shown as they are, as browsers do.
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _normalise(image: Image.Image) -> Image.Image:
    """Return the decoded ``image`` upright, in sRGB, as RGB or RGBA, with no metadata."""
    ImageOps.exif_transpose(image, in_place=True)
    image = _to_srgb(image)
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit grey: scaled to 8 bits (convert() would clip it to white).
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    wanted = "RGBA" if _has_alpha(image) else "RGB"
    if image.mode != wanted:
        image = image.convert(wanted)
    if wanted == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # transparency declared but never used
    # Encoders copy some of these (PNG its colour profile) when they are there to copy.
    image.info.clear()
    return image


def _encode(image: Image.Image, extension: str, **options: object) -> bytes:
    out = io.BytesIO()
    if extension == "jpg":
        if image.mode == "RGBA":
            flat = Image.new("RGB", image.size, _WHITE)
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.save(out, "JPEG", optimize=True, **options)
    elif extension == "png":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", **options)
    return out.getvalue()


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    if image.mode == "RGBA":
        # Through premultiplied alpha, so that transparent pixels do not darken the edges.
        return (
            image.convert("RGBa")
            .resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            .convert("RGBA")
        )
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def process(data: bytes, *, max_bytes: int, max_pixels: int) -> Picture:
    """Check ``data`` as an uploaded picture and make every file of it; raise ``Refused``.

    ``max_pixels`` is capped at Pillow's own decompression-bomb threshold.
    """
    if len(data) > max_bytes:
        raise TooLarge(
            f"This picture is {megabytes(len(data))}; "
            f"the largest accepted is {megabytes(max_bytes)}."
        )
    if not data:
        raise NotAPicture("The file is empty; choose a JPEG, PNG, WebP or GIF picture.")
    format = _sniff(data)
    _refuse_polyglots(data)
    with _open(data, format, min(max_pixels, PIXELS_CEILING)) as opened:
        image = _normalise(_decode(opened))
        extension = _ORIGINAL_EXTENSION[format]
        if extension == "jpg":
            original = _encode(image, "jpg", quality=92)
        elif extension == "webp" and _is_lossless_webp(data):
            original = _encode(image, "webp", lossless=True)
        else:
            original = _encode(image, extension, quality=90)
        files = [File(f"{ORIGINAL}.{extension}", MEDIA_TYPES[extension], original)]
        # Largest first: each size is made from the one before, which is cheaper.
        source = image
        for name, bound in sorted(SIZES.items(), key=lambda size: -size[1]):
            source = _resize(source, fit(*image.size, bound))
            small = bound <= SIZES[THUMBNAIL]
            files.append(
                File(
                    f"{name}.webp",
                    "image/webp",
                    _encode(source, "webp", quality=75 if small else 80),
                )
            )
            files.append(
                File(
                    f"{name}.jpg",
                    "image/jpeg",
                    _encode(source, "jpg", quality=80 if small else 85, progressive=not small),
                )
            )
    return Picture(
        sha256=hashlib.sha256(original).hexdigest(),
        width=image.width,
        height=image.height,
        format=extension,
        files=tuple(sorted(files, key=lambda file: variants(extension).index(file.variant))),
    )
