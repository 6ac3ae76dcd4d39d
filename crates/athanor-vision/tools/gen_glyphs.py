#!/usr/bin/env python3
"""Generates `data/scale_label_glyphs.bin`, the glyph templates that `scale_label.rs` matches
the characters of a scale bar's label against ("100 nm", "0.5 µm", "2 Å" ...).

Run from the crate directory:  python3 tools/gen_glyphs.py
Needs Python 3 + Pillow and the fonts below (Debian: fonts-dejavu-core, fonts-liberation).
The build and the runtime need neither: the table is committed.

Licences: DejaVu fonts (Bitstream Vera licence + public-domain changes) and Liberation fonts
(SIL Open Font License 1.1) both allow using the fonts to produce derived data such as these
coarse glyph bitmaps; no font software is redistributed.

Format (little endian), one record after the other, after the 4-byte magic b"SLG1" and a u8 grid
size G:
  u8 n, n bytes UTF-8 text (one character, or a pair such as "nm" that blurs into one blob),
  u8 font index, i16 aspect*1000 (ink box width / height), i16 top*1000, i16 bottom*1000
  (ink box top and bottom above the baseline, in units of the digit height), G*G u8 coverage
  (0..255) of the ink box resampled to G x G cells, row by row.
"""
import os
import struct
from PIL import Image, ImageDraw, ImageFont

GRID = 12
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
]
# "µ" is U+00B5 (micro sign); U+03BC (Greek mu) is folded onto it at read time.
TEXTS = list("0123456789.,nmuµÅAp") + ["nm", "µm", "um"]
# Digit heights (px) to render at: small sizes capture the pixelation of small labels.
SIZES = [10, 16, 40]


def coverage(mask, w, h):
    """Area-averaged resampling of a w x h boolean mask (list of rows) to GRID x GRID."""
    out = []
    for gy in range(GRID):
        ya, yb = gy * h / GRID, (gy + 1) * h / GRID
        for gx in range(GRID):
            xa, xb = gx * w / GRID, (gx + 1) * w / GRID
            total = 0.0
            for y in range(int(ya), min(h, int(yb) + 1)):
                oy = min(yb, y + 1) - max(ya, y)
                if oy <= 0:
                    continue
                for x in range(int(xa), min(w, int(xb) + 1)):
                    ox = min(xb, x + 1) - max(xa, x)
                    if ox > 0 and mask[y][x]:
                        total += ox * oy
            out.append(min(255, round(255 * total / ((xb - xa) * (yb - ya)))))
    return out


def render(font_path, text, digit_px, footless=False):
    # Find the point size whose "0" is digit_px tall.
    size = digit_px
    for _ in range(8):
        font = ImageFont.truetype(font_path, size)
        top = -font.getbbox("0", anchor="ls")[1]
        if top == digit_px:
            break
        size = max(4, round(size * digit_px / max(top, 1)))
    font = ImageFont.truetype(font_path, size)
    digit = -font.getbbox("0", anchor="ls")[1]
    canvas = Image.new("L", (size * 4, size * 3), 0)
    base = size * 2
    ImageDraw.Draw(canvas).text((size // 2, base), text, fill=255, font=font, anchor="ls")
    w, h = canvas.size
    px = canvas.load()
    ink = [[px[x, y] >= 128 for x in range(w)] for y in range(h)]
    ys = [y for y in range(h) if any(ink[y])]
    xs = [x for x in range(w) if any(ink[y][x] for y in ys)]
    if not ys:
        return None
    x0, x1, y0, y1 = xs[0], xs[-1] + 1, ys[0], ys[-1] + 1
    if footless:
        # Helvetica/Arial-style "1" without the foot that DejaVu and Liberation draw: keep
        # only the stem's columns (those inked at 60 % of the height) in the bottom rows.
        mid = y0 + (y1 - y0) * 6 // 10
        stem = [x for x in range(x0, x1) if ink[mid][x]]
        for y in range(y0 + (y1 - y0) * 8 // 10, y1):
            for x in range(x0, x1):
                if x < stem[0] or x > stem[-1]:
                    ink[y][x] = False
        xs = [x for x in range(w) if any(ink[y][x] for y in ys)]
        x0, x1 = xs[0], xs[-1] + 1
    crop = [row[x0:x1] for row in ink[y0:y1]]
    return ((x1 - x0) / (y1 - y0), (base - y0) / digit, (base - y1) / digit,
            coverage(crop, x1 - x0, y1 - y0))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "data", "scale_label_glyphs.bin")
    records = bytearray(b"SLG1") + bytes([GRID])
    count = 0
    for fi, path in enumerate(FONTS):
        for text in TEXTS:
            for px, footless in [(p, False) for p in SIZES] + (
                    [(p, True) for p in SIZES] if text == "1" else []):
                r = render(path, text, px, footless)
                if r is None:
                    continue
                aspect, top, bottom, cells = r
                t = text.encode("utf-8")
                records += bytes([len(t)]) + t + bytes([fi])
                records += struct.pack("<hhh", round(aspect * 1000), round(top * 1000),
                                       round(bottom * 1000))
                records += bytes(cells)
                count += 1
    with open(out, "wb") as f:
        f.write(records)
    print(f"{count} templates, {len(records)} bytes -> {out}")


if __name__ == "__main__":
    main()
