#!/usr/bin/env python3
"""Draws PayDesk's icon (a white yen sign on WeChat green) without any imaging library.

Writes assets/paydesk.png (256x256, for the .desktop entry and packages), assets/icon-64.rgba (64x64 raw
RGBA, embedded as the window icon) and assets/paydesk.ico (16-256 px, embedded in paydesk.exe by build.rs). Run from the repository root: python3 packaging/make-icon.py
"""
import struct
import zlib


def draw(size):
    green, white = (7, 193, 96, 255), (255, 255, 255, 255)
    px = [[(0, 0, 0, 0)] * size for _ in range(size)]
    r = size * 0.18  # corner radius
    s = size / 256.0

    def inside_rounded(x, y):
        cx = min(max(x, r), size - r)
        cy = min(max(y, r), size - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    def near_segment(x, y, ax, ay, bx, by, w):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        qx, qy = ax + t * dx, ay + t * dy
        return (x - qx) ** 2 + (y - qy) ** 2 <= (w / 2) ** 2

    strokes = [  # the yen sign, in 256-unit coordinates
        (72, 52, 128, 132), (184, 52, 128, 132), (128, 128, 128, 210),
        (80, 142, 176, 142), (80, 178, 176, 178),
    ]
    for y in range(size):
        for x in range(size):
            fx, fy = x + 0.5, y + 0.5
            if not inside_rounded(fx, fy):
                continue
            px[y][x] = green
            for ax, ay, bx, by in strokes:
                if near_segment(fx / s, fy / s, ax, ay, bx, by, 24):
                    px[y][x] = white
                    break
    return px


def png(px):
    size = len(px)
    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in px)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def dib(px):
    """An icon image in the classic form: 32-bit BGRA bottom-up bitmap plus a 1-bit AND mask (all zero)."""
    size = len(px)
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    colour = b"".join(bytes((b, g, r, a)) for row in reversed(px) for (r, g, b, a) in row)
    mask = b"\x00" * (((size + 31) // 32) * 4 * size)
    return header + colour + mask


def ico(images):
    """A Windows .ico: small sizes as bitmaps (read everywhere), 256 px as PNG (as Windows itself does)."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    body = b""
    for size, data in images:
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return out + body


open("assets/paydesk.png", "wb").write(png(draw(256)))
open("assets/icon-64.rgba", "wb").write(b"".join(bytes(p) for row in draw(64) for p in row))
open("assets/paydesk.ico", "wb").write(ico([(s, dib(draw(s))) for s in (16, 32, 48)] + [(256, png(draw(256)))]))
print("wrote assets/paydesk.png, assets/icon-64.rgba and assets/paydesk.ico")
