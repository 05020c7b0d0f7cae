"""Real images made with Pillow for the security tests, and an SVG that tries to fetch what it is told."""

import io
import os
import struct
import zlib

from PIL import Image


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (40, 20), mode: str = "RGB") -> bytes:
    """A small solid image encoded as `image_format` (PNG, JPEG, WEBP, GIF...)."""
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else 0).save(out, image_format)
    return out.getvalue()


def pixel_bomb_png(side: int = 10_000) -> bytes:
    """A `side` x `side` bilevel PNG: about 12 KB on disk for 10000 x 10000, 100 megapixels once decoded."""
    return image_bytes("PNG", (side, side), mode="1")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` 8-bit grey pixels and holds none (too big to make for real)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def noise_png(side: int) -> bytes:
    """A `side` x `side` PNG of random pixels: it does not compress (about 3 bytes a pixel)."""
    return noise_image("PNG", side)


def noise_image(image_format: str, side: int) -> bytes:
    """A `side` x `side` image of random pixels encoded as `image_format`."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, image_format)
    return out.getvalue()


def fetching_svg(*urls: str) -> bytes:
    """An SVG whose <image> elements point at `urls` (what the probe uploaded as a logo)."""
    images = "".join(f'<image href="{url}" x="0" y="0" width="10" height="10"/>' for url in urls)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">'
        f'<rect width="40" height="20" fill="red"/>{images}</svg>'
    ).encode()
