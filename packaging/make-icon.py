#!/usr/bin/env python3
"""Draws PayDesk's icon (a white yen sign on WeChat green) without any imaging library.

Writes assets/paydesk.png (256x256, for the .desktop entry and packages) and assets/icon-64.rgba (64x64 raw
RGBA, embedded as the window icon). Run from the repository root: python3 packaging/make-icon.py
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


open("assets/paydesk.png", "wb").write(png(draw(256)))
open("assets/icon-64.rgba", "wb").write(b"".join(bytes(p) for row in draw(64) for p in row))
print("wrote assets/paydesk.png and assets/icon-64.rgba")
