"""Pictures for the tests, made on the spot: good ones, odd ones and hostile ones."""

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw, ImageFilter

ORIENTATION = 0x0112
GPS_IFD = 0x8825
# Berlin, as a camera writes it: degrees, minutes, seconds.
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 18.0)}


def encode(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def solid(format: str = "JPEG", size=(64, 48), color=(200, 30, 30), **options) -> bytes:
    """Return a picture of one colour."""
    mode = "RGBA" if len(color) == 4 else "RGB"
    return encode(Image.new(mode, size, color), format, **options)


def halves(size=(80, 40)) -> Image.Image:
    """Return a picture whose left half is red and right half blue: its orientation shows."""
    image = Image.new("RGB", size, (220, 20, 20))
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(20, 20, 220))
    return image


def with_exif(image: Image.Image, orientation: int | None = None, gps: bool = False) -> bytes:
    """Return ``image`` as a JPEG whose EXIF says how to turn it and, if asked, where it was."""
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = GPS
    return encode(image, "JPEG", quality=95, exif=exif)


def animated_gif(frames: int = 40, size=(40, 30)) -> bytes:
    """Return a GIF of ``frames`` frames, the first green, the others shades of magenta."""
    first = Image.new("RGB", size, (0, 200, 0))
    others = [Image.new("RGB", size, (250 - n * 4, 0, 200)) for n in range(frames - 1)]
    return encode(first, "GIF", save_all=True, append_images=others, duration=50, loop=0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header claims ``width`` × ``height`` one-bit pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int) -> bytes:
    """Return a real PNG of ``width`` × ``height`` black one-bit pixels: tiny, huge decoded."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def noisy_png(size: tuple[int, int], seed: int = 7) -> bytes:
    """Return a PNG of random pixels, which no compression can make small."""
    return encode(
        Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3)), "PNG"
    )


def camera_jpeg(width: int = 4000, height: int = 3000, seed: int = 1) -> bytes:
    """Return a camera-like JPEG: soft shapes, sensor noise, EXIF with orientation and GPS."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(50, 600)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(8))
    image = Image.blend(image, Image.effect_noise((width, height), 25).convert("RGB"), 0.15)
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = GPS
    return encode(image, "JPEG", quality=92, exif=exif)


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
