"""Checking and resizing pictures with Pillow alone: what is accepted, refused, and made."""

import hashlib
import io
import time

import pytest
from PIL import Image, ImageCms
from support import pictures

from catalog.images import processing
from catalog.images.processing import Damaged, NotAPicture, TooLarge, process

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 40_000_000}


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def mostly(channel: int, pixel) -> bool:
    """Tell whether ``pixel`` is strongly of one colour: channel 0 red, 1 green, 2 blue."""
    return pixel[channel] > 150 and all(pixel[c] < 80 for c in range(3) if c != channel)


def files(picture) -> dict[str, bytes]:
    return {file.variant: file.data for file in picture.files}


@pytest.mark.parametrize(
    ("data", "original", "format"),
    [
        (pictures.solid("JPEG"), "full.jpg", "JPEG"),
        (pictures.solid("PNG"), "full.png", "PNG"),
        (pictures.solid("WEBP"), "full.webp", "WEBP"),
        (pictures.solid("GIF"), "full.png", "PNG"),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_each_format_is_accepted_by_its_content_and_made_into_every_file(data, original, format):
    picture = process(data, **LIMITS)
    made = files(picture)
    assert list(made) == [original, "200.webp", "200.jpg", "1200.webp", "1200.jpg"]
    assert opened(made[original]).format == format
    for variant, data in made.items():
        image = opened(data)
        assert image.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[variant.split(".")[1]]
        assert image.size == (64, 48)  # small pictures are never enlarged
    media = {file.variant: file.media_type for file in picture.files}
    assert media["200.webp"] == "image/webp"
    assert media["1200.jpg"] == "image/jpeg"
    assert (picture.width, picture.height) == (64, 48)
    assert picture.sha256 == hashlib.sha256(made[original]).hexdigest()


def test_large_pictures_are_resized_to_the_sizes_pages_use():
    picture = process(pictures.solid("JPEG", size=(4000, 3000)), **LIMITS)
    sizes = {file.variant: opened(file.data).size for file in picture.files}
    assert sizes == {
        "full.jpg": (4000, 3000),
        "1200.webp": (1200, 900),
        "1200.jpg": (1200, 900),
        "200.webp": (200, 150),
        "200.jpg": (200, 150),
    }
    # What pages and the API compute for the space to reserve is what was made.
    assert processing.fit(4000, 3000, 1200) == (1200, 900)
    assert processing.fit(3000, 4000, 200) == (150, 200)
    assert processing.fit(1, 5000, 200) == (1, 200)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (pictures.SVG, NotAPicture),
        (pictures.HTML, NotAPicture),
        (b"", NotAPicture),
        (b"%PDF-1.4\n" + b"0" * 100, NotAPicture),
        (b"GIF89a" + b"\x00" * 3, Damaged),  # the signature alone
    ],
    ids=["svg", "html", "empty", "pdf", "signature-only"],
)
def test_what_is_not_a_picture_is_refused(data, error):
    with pytest.raises(error) as refused:
        process(data, **LIMITS)
    assert refused.value.status == (415 if error is NotAPicture else 422)


def test_a_truncated_jpeg_is_refused():
    data = pictures.solid("JPEG", size=(400, 300))
    with pytest.raises(Damaged, match="damaged or incomplete"):
        process(data[: len(data) // 2], **LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        # A JPEG comment holding a page with a script.
        pictures.solid("JPEG", comment=pictures.HTML),
        # A JPEG followed by a ZIP archive (a "GIFAR"-style polyglot).
        pictures.solid("JPEG") + b"PK\x03\x04" + b"\x00" * 26 + b"PK\x05\x06" + b"\x00" * 18,
        # A PNG whose text chunk holds an SVG document.
        pictures.solid("PNG", pnginfo=None) + pictures.SVG,
    ],
    ids=["html-in-jpeg-comment", "zip-after-jpeg", "svg-after-png"],
)
def test_polyglots_are_refused(data):
    with pytest.raises(Damaged, match="something besides a picture"):
        process(data, **LIMITS)


def test_a_file_over_the_byte_limit_is_refused_before_anything_else():
    data = pictures.noisy_png((300, 300))
    with pytest.raises(TooLarge, match=r"largest accepted is 0\.1 MB") as refused:
        process(data, max_bytes=100_000, max_pixels=40_000_000)
    assert refused.value.status == 413


@pytest.mark.parametrize(
    "data",
    [pictures.png_claiming(100_000, 100_000), pictures.png_bomb(10_000, 8_000)],
    ids=["header-claims-10-gigapixels", "real-80-megapixel-bomb"],
)
def test_a_decompression_bomb_is_refused_without_decoding(data, monkeypatch):
    assert len(data) < 20_000

    def never(self):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(Image.Image, "load", never)
    monkeypatch.setattr(processing, "_decode", never)
    started = time.perf_counter()
    with pytest.raises(TooLarge, match="megapixels") as refused:
        process(data, **LIMITS)
    elapsed = time.perf_counter() - started
    assert refused.value.status == 413
    assert elapsed < 0.05, elapsed


def test_pixels_at_the_limit_pass():
    picture = process(pictures.png_bomb(1000, 1000), max_bytes=5_000_000, max_pixels=1_000_000)
    assert (picture.width, picture.height) == (1000, 1000)
    with pytest.raises(TooLarge):
        process(pictures.png_bomb(1000, 1001), max_bytes=5_000_000, max_pixels=1_000_000)


def test_an_animated_gif_keeps_its_first_frame_only():
    data = pictures.animated_gif(frames=40)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 40
    for variant, made in files(process(data, **LIMITS)).items():
        image = opened(made)
        assert getattr(image, "n_frames", 1) == 1, variant
        pixel = image.convert("RGB").getpixel((5, 5))
        assert mostly(1, pixel), (variant, pixel)


def test_gps_and_every_other_metadata_are_stripped():
    data = pictures.with_exif(pictures.halves(), gps=True)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(pictures.GPS_IFD)
    for variant, made in files(process(data, **LIMITS)).items():
        image = opened(made)
        assert not image.getexif(), variant
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info), variant
        assert b"Exif" not in made, variant
        assert b"Camera Maker" not in made, variant


def test_exif_orientation_is_applied_to_the_pixels():
    # Orientation 6: the camera was turned; shown upright, the left half is on top.
    data = pictures.with_exif(pictures.halves((80, 40)), orientation=6)
    picture = process(data, **LIMITS)
    assert (picture.width, picture.height) == (40, 80)
    image = opened(files(picture)["full.jpg"]).convert("RGB")
    assert image.size == (40, 80)
    top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
    assert mostly(0, top), top
    assert mostly(2, bottom), bottom


def test_the_same_pixels_make_the_same_picture_whatever_the_metadata():
    plain = process(pictures.with_exif(pictures.halves()), **LIMITS)
    located = process(pictures.with_exif(pictures.halves(), gps=True), **LIMITS)
    assert plain.sha256 == located.sha256
    assert files(plain) == files(located)


def test_transparency_is_kept_in_webp_and_flattened_on_white_in_jpeg():
    made = files(process(pictures.solid("PNG", color=(0, 0, 255, 0)), **LIMITS))
    assert opened(made["full.png"]).mode == "RGBA"
    assert opened(made["200.webp"]).getpixel((3, 3))[3] == 0
    assert opened(made["200.jpg"]).convert("RGB").getpixel((3, 3)) > (245, 245, 245)


def test_odd_modes_come_out_as_rgb():
    grey16 = pictures.encode(Image.new("I;16", (20, 20), 40_000), "PNG")
    cmyk = pictures.encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG")
    palette = pictures.encode(Image.new("RGB", (20, 20), (10, 200, 10)).convert("P"), "PNG")
    for data in (grey16, cmyk, palette):
        image = opened(files(process(data, **LIMITS))["1200.jpg"])
        assert image.mode == "RGB"
    grey = opened(files(process(grey16, **LIMITS))["full.png"]).getpixel((1, 1))
    assert grey[:3] == (155, 155, 155)  # 40000 of 65535, scaled, not clipped to white
    red = opened(files(process(cmyk, **LIMITS))["full.jpg"]).getpixel((1, 1))
    assert mostly(0, red), red


def test_a_colour_profile_is_applied_then_dropped():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = pictures.solid("JPEG", icc_profile=profile)
    assert Image.open(io.BytesIO(data)).info.get("icc_profile")
    for made in files(process(data, **LIMITS)).values():
        assert "icc_profile" not in opened(made).info


def test_a_lossless_webp_stays_lossless():
    lossless = process(pictures.solid("WEBP", lossless=True), **LIMITS)
    lossy = process(pictures.solid("WEBP", quality=80), **LIMITS)
    assert files(lossless)["full.webp"][12:16] == b"VP8L"
    assert files(lossy)["full.webp"][12:16] == b"VP8 "


def test_a_twelve_megapixel_camera_picture_in_well_under_the_request_timeout():
    data = pictures.camera_jpeg(4000, 3000)
    started = time.perf_counter()
    picture = process(data, **LIMITS)
    elapsed = time.perf_counter() - started
    made = files(picture)
    print(
        f"\n12 MP JPEG ({len(data) / 1e6:.1f} MB) checked and resized in {elapsed:.2f} s: "
        + ", ".join(f"{variant} {len(data) / 1e3:.0f} kB" for variant, data in made.items())
    )
    assert (picture.width, picture.height) == (3000, 4000)  # turned upright
    assert elapsed < 10
