#!/usr/bin/env python3
"""Checks an mmoe quality report (mmoe convert/eval --report) and its Chromium screenshot.

  check_report.py REPORT.html SCREENSHOT.png

  check_report.py --height REPORT.html     (prints a window height that shows the whole page)

Fails (exit 1, naming what is wrong) when the HTML is not well-formed XHTML, lacks one of its
parts (summary table, SQNR bars, per task the error charts, the gate heatmap), or refers to
anything outside the file; and when the screenshot is blank (one colour), nearly empty, or
lacks the chart colours, i.e. the page did not render its SVG. Per task the report must have a
scatter of delta = int8 - float (class delta-scatter: points, a zero line, numeric y ticks
symmetric around 0 with the printed scale their largest) and a histogram of |delta| (class
delta-hist: bars, numeric x ticks on the same scale, the mean, p99 and max marked).
Standard library only.
"""

import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
BAR_BLUE = (0x34, 0x65, 0xA4)  # eval_report.cpp's bar, point and histogram colour


def fail(msg):
    print("check_report: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def parse(path):
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s is not well-formed: %s" % (path, e))


def classes(element):
    return (element.get("class") or "").split()


def ticks(path, svg, axis):
    """The numeric labels of one axis ('x' or 'y') of a chart; fails on a label that is not a number."""
    values = []
    for t in svg.iter(SVG + "text"):
        if "tick" in classes(t) and axis in classes(t):
            try:
                values.append(float(t.text))
            except (TypeError, ValueError):
                fail("%s: tick label %r is not a number" % (path, t.text))
    return values


def printed_scale(svg):
    """The scale a chart prints: 0.03 from 'y scale ±0.03, ticks every 0.01' or 'x scale 0 to 0.03, ...'."""
    text = next((t.text or "" for t in svg.iter(SVG + "text") if "scale" in classes(t)), "")
    head = text.split(",")[0].replace("\u00b1", " ").split()
    try:
        return float(head[-1])
    except (IndexError, ValueError):
        return None


def check_delta_charts(path, task, scatter, hist):
    """The two error charts of one task: readable magnitudes on one scale chosen from the data."""
    ys = ticks(path, scatter, "y")
    if len(ys) < 3 or max(ys) <= 0 or abs(max(ys) + min(ys)) > 1e-12 * max(ys):
        fail("%s: task %s: the delta scatter's y ticks %s are not symmetric around 0" % (path, task, ys))
    if printed_scale(scatter) != max(ys):
        fail("%s: task %s: the delta scatter does not print its scale (+-%g)" % (path, task, max(ys)))
    if not any("zero" in classes(l) for l in scatter.iter(SVG + "line")):
        fail("%s: task %s: the delta scatter has no zero line" % (path, task))
    if not list(scatter.iter(SVG + "circle")):
        fail("%s: task %s: the delta scatter has no points" % (path, task))
    xs = ticks(path, hist, "x")
    if len(xs) < 2 or min(xs) != 0 or max(xs) != max(ys) or printed_scale(hist) != max(ys):
        fail("%s: task %s: the |delta| histogram's x ticks %s are off the scatter's scale" % (path, task, xs))
    if not any("bar" in classes(r) for r in hist.iter(SVG + "rect")):
        fail("%s: task %s: the |delta| histogram has no bars" % (path, task))
    marks = {c for l in hist.iter(SVG + "line") if "mark" in classes(l) for c in classes(l)}
    for mark in ("mean", "p99", "max"):
        if mark not in marks:
            fail("%s: task %s: the |delta| histogram does not mark the %s" % (path, task, mark))


def check_html(path):
    root = parse(path)
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
    rows = list(root.iter(XHTML + "tr"))
    if len(rows) < 2:
        fail("%s: the summary table has no task rows" % path)
    tasks = ["".join(r.find(XHTML + "td").itertext()) for r in rows[1:]]
    scatters = [s for s in svgs if "delta-scatter" in classes(s)]
    hists = [s for s in svgs if "delta-hist" in classes(s)]
    if len(scatters) != len(tasks) or len(hists) != len(tasks):
        fail("%s: %d delta scatters and %d |delta| histograms for %d tasks"
             % (path, len(scatters), len(hists), len(tasks)))
    for task, scatter, hist in zip(tasks, scatters, hists):
        check_delta_charts(path, task, scatter, hist)
    if not any(len(list(s.iter(SVG + "circle"))) > 10 for s in scatters):
        fail("%s: the delta scatters have no points" % path)


def page_height(path):
    """A screenshot height that holds the whole page: the charts' heights (those side by side in
    one <div> counted once), plus room for the headings, the table and the notes."""
    root = parse(path)
    height = 120
    for element in root.find(XHTML + "body"):
        tag = element.tag.replace(XHTML, "")
        charts = list(element.iter(SVG + "svg"))
        if charts:
            height += max(float(s.get("height")) for s in charts) + 20
        elif tag == "table":
            height += 30 * len(list(element.iter(XHTML + "tr"))) + 30
        else:
            height += 60 if tag.startswith("h") else 26
    return max(800, int(height + 99) // 100 * 100)


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
    if len(sys.argv) == 3 and sys.argv[1] == "--height":
        print(page_height(sys.argv[2]))
        return
    if len(sys.argv) != 3:
        fail("usage: check_report.py REPORT.html SCREENSHOT.png | check_report.py --height REPORT.html")
    check_html(sys.argv[1])
    check_png(sys.argv[2])


if __name__ == "__main__":
    main()
