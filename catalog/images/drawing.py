"""Pictures for the demo catalog, drawn on the spot with Pillow: nothing is fetched.

Each item gets a poster of its own, the same on every run: a soft gradient in its
category's colour, a few shapes placed by its name, and its name in large letters.
Small enough (640 × 480) that ``flask seed`` draws and processes all of them in a
couple of seconds.
"""

import colorsys
import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFont

SIZE = (640, 480)
# Hues (0–360) by category, in the order of the demo catalog; others are derived.
_HUES = (140, 25, 5, 200, 320, 95, 265, 185, 45, 220)


def _hsv(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    """Return an RGB colour for ``hue`` in degrees and the other two from 0 to 1."""
    red, green, blue = colorsys.hsv_to_rgb(hue % 360 / 360, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    """Split ``text`` into lines no wider than ``width`` pixels."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def poster(category: str, name: str, index: int = 0) -> bytes:
    """Return a JPEG picture for the item ``name`` of ``category`` (the ``index``-th one)."""
    seed = int.from_bytes(hashlib.sha256(f"{category}/{name}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    hue = _HUES[index % len(_HUES)] if index < len(_HUES) else seed % 360
    width, height = SIZE
    top, bottom = _hsv(hue, 0.35, 0.98), _hsv(hue + 20, 0.75, 0.62)
    gradient = Image.linear_gradient("L").resize(SIZE)
    image = Image.composite(Image.new("RGB", SIZE, bottom), Image.new("RGB", SIZE, top), gradient)
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(7):
        radius = rng.randrange(32, 150)
        x, y = rng.randrange(width), rng.randrange(int(height * 0.7))
        shade = (*_hsv(hue + rng.randrange(-40, 40), 0.5, 1.0), rng.randrange(60, 130))
        box = (x - radius, y - radius, x + radius, y + radius)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=shade)
        else:
            draw.rounded_rectangle(box, radius=radius // 4, fill=shade)
    font = _font(52)
    lines = _wrapped(draw, name, font, width - 76)
    line_height = 60
    y = height - 40 - line_height * len(lines)
    draw.rectangle((0, y - 22, width, height), fill=(20, 24, 34, 150))
    for line in lines:
        draw.text((38, y), line, font=font, fill=(255, 255, 255))
        y += line_height
    draw.text((38, 30), category.upper(), font=_font(24), fill=(20, 24, 34, 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()
