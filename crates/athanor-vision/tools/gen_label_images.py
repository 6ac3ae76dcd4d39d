#!/usr/bin/env python3
"""Generates the synthetic test images `tests/data/scale_labels/*.png` for `scale_label.rs`:
a noisy micrograph-like background with a scale bar and its label rendered with a real font
(several fonts, including DejaVu Sans Mono and DejaVu Sans Oblique, which the templates do not
include), 10-40 px high, both polarities (the test adds seeded noise), above / below / beside the bar, plus negative cases
(a bar with no text, a bar next to a round particle). The expected reading is in the file name:
`<index>_<label with spaces as '_' and µ as 'u'>.png`, or `<index>_none.png`.

Run from the crate directory: python3 tools/gen_label_images.py  (Python 3 + Pillow + fonts
fonts-dejavu-core and fonts-liberation; DejaVu: Bitstream Vera licence, Liberation: SIL OFL 1.1.)
"""
import os
from PIL import Image, ImageDraw, ImageFont

D = "/usr/share/fonts/truetype/dejavu/"
L = "/usr/share/fonts/truetype/liberation/"
# (label, font, digit height px, bright text?, placement, unused)
CASES = [
    ("100 nm", L + "LiberationSans-Regular.ttf", 14, True, "above", 6),
    ("0.5 µm", L + "LiberationSerif-Bold.ttf", 20, False, "below", 4),
    ("200nm", D + "DejaVuSans-Bold.ttf", 12, True, "above", 8),
    ("2 µm", D + "DejaVuSerif.ttf", 30, False, "above", 5),
    ("50 nm", D + "DejaVuSansMono.ttf", 16, True, "right", 6),
    ("1 um", L + "LiberationSans-Bold.ttf", 40, False, "above", 10),
    ("20 Å", D + "DejaVuSans.ttf", 18, True, "above", 5),
    ("5 mm", D + "DejaVuSans-Oblique.ttf", 16, False, "above", 4),
    ("10 nm", L + "LiberationSerif-Regular.ttf", 10, True, "below", 3),
    ("0,2 µm", D + "DejaVuSansCondensed-Bold.ttf", 24, True, "left", 6),
    (None, None, 0, True, "above", 6),
    ("particle", None, 0, False, "above", 5),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "tests", "data", "scale_labels")
    os.makedirs(out, exist_ok=True)
    for i, (label, font_path, digit, bright, place, sigma) in enumerate(CASES):
        w, h = 240, 200
        bg, ink = (70, 235) if bright else (180, 15)
        im = Image.new("L", (w, h), bg)
        d = ImageDraw.Draw(im)
        bar_len, bar_h = (70 if place in ("left", "right") else 90), max(3, digit // 4)
        bx, by = {"left": 150, "right": 20}.get(place, 80), 155
        d.rectangle([bx, by, bx + bar_len - 1, by + bar_h - 1], fill=ink)
        if label == "particle":
            d.ellipse([90, 110, 125, 145], fill=ink)
        elif label is not None:
            size = digit
            for _ in range(6):
                font = ImageFont.truetype(font_path, size)
                top = -font.getbbox("0", anchor="ls")[1]
                size = max(4, round(size * digit / max(top, 1)))
            font = ImageFont.truetype(font_path, size)
            x0, _, x1, _ = font.getbbox(label, anchor="ls")
            tw = x1 - x0
            if place == "above":
                pos = (bx + (bar_len - tw) // 2, by - max(3, digit // 3))
            elif place == "below":
                pos = (bx + (bar_len - tw) // 2, by + bar_h + max(3, digit // 3) + digit)
            elif place == "right":
                pos = (bx + bar_len + digit // 2, by + bar_h // 2 + digit // 2)
            else:
                pos = (bx - tw - digit // 2, by + bar_h // 2 + digit // 2)
            d.text(pos, label, fill=ink, font=font, anchor="ls")
        name = "none" if label in (None, "particle") else label.replace(" ", "_").replace("µ", "u").replace("Å", "A-ring")
        im.save(os.path.join(out, f"{i:02}_{name}.png"), optimize=True)
    print("written to", out)


if __name__ == "__main__":
    main()
