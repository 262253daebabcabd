#!/usr/bin/env python3
"""Checks an mmoe quality report (mmoe convert/eval --report) and its Chromium screenshot.

  check_report.py REPORT.html SCREENSHOT.png

Fails (exit 1, naming what is wrong) when the HTML is not well-formed XHTML, lacks one of its
parts (summary table, SQNR bars, a scatter plot per task, the gate heatmap), or refers to
anything outside the file; and when the screenshot is blank (one colour), nearly empty, or
lacks the chart colours, i.e. the page did not render its SVG. Standard library only.
"""

import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
BAR_BLUE = (0x34, 0x65, 0xA4)  # eval_report.cpp's bar and scatter colour


def fail(msg):
    print("check_report: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check_html(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s is not well-formed: %s" % (path, e))
    text = open(path, encoding="utf-8").read()
    for needle in ("<script", "http://", "https://", "src=", "@import", "url("):
        allowed = needle == "http://" and text.count("http://") == text.count("http://www.w3.org/")
        if needle in text and not allowed:
            fail("%s is not self-contained: it contains '%s'" % (path, needle))
    svgs = list(root.iter(SVG + "svg"))
    ids = {s.get("id") for s in svgs}
    for part in ("sqnr", "gates"):
        if part not in ids:
            fail("%s has no '%s' chart" % (path, part))
    sqnr = next(s for s in svgs if s.get("id") == "sqnr")
    if len(list(sqnr.iter(SVG + "rect"))) < 2:
        fail("%s: the SQNR chart has no bars" % path)
    scatters = [s for s in svgs if "scatter" in (s.get("class") or "")]
    rows = list(root.iter(XHTML + "tr"))
    if len(rows) < 2:
        fail("%s: the summary table has no task rows" % path)
    if len(scatters) != len(rows) - 1:
        fail("%s: %d scatter plots for %d tasks" % (path, len(scatters), len(rows) - 1))
    if not any(len(list(s.iter(SVG + "circle"))) > 10 for s in scatters):
        fail("%s: the scatter plots have no points" % path)


def read_png(path):
    """(width, height, channels, rows of bytes) of an 8-bit non-interlaced RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s is not a PNG" % path)
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        fail("%s: unsupported PNG (depth %d, colour type %d, interlace %d)" % (path, depth, colour, interlace))
    ch = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * ch
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(ch, stride):
                line[i] = (line[i] + line[i - ch]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - ch] if i >= ch else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - ch] if i >= ch else 0
                b = prev[i]
                c = prev[i - ch] if i >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, ch, rows


def check_png(path):
    width, height, ch, rows = read_png(path)
    background = tuple(rows[0][:3])
    colours, inked, blue = set(), 0, 0
    for line in rows:
        for x in range(0, width * ch, ch):
            px = (line[x], line[x + 1], line[x + 2])
            colours.add(px)
            if px != background:
                inked += 1
            if all(abs(px[k] - BAR_BLUE[k]) <= 8 for k in range(3)):
                blue += 1
    total = width * height
    if len(colours) < 2:
        fail("%s is blank: every pixel is %s" % (path, background))
    if inked < 0.02 * total:
        fail("%s is nearly empty: %.2f %% of the pixels differ from the background" % (path, 100.0 * inked / total))
    if blue < 500:
        fail("%s shows no chart bars or points (%d pixels of the chart colour)" % (path, blue))
    print("check_report: ok: %s renders %dx%d, %d colours, %.1f %% inked, %d chart pixels"
          % (path, width, height, len(colours), 100.0 * inked / total, blue))


def main():
    if len(sys.argv) != 3:
        fail("usage: check_report.py REPORT.html SCREENSHOT.png")
    check_html(sys.argv[1])
    check_png(sys.argv[2])


if __name__ == "__main__":
    main()
