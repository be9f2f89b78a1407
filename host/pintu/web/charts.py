"""Charts drawn on the server as SVG text: no script and no library in the browser (the console's CSP allows
neither inline scripts nor inline styles; SVG presentation attributes are neither)."""

from xml.sax.saxutils import escape

# The verdicts' colours as the door shows them (PeduliLindungi's), and the order bars are stacked in.
COLOURS = {"GREEN": "#2e7d32", "YELLOW": "#f9a825", "HOLD": "#fbc02d", "RED": "#c62828", "BLACK": "#212121",
           "FULL": "#6a1b9a", "INVALID": "#757575", "EXIT": "#1565c0", "GUARD_IDLE": "#90a4ae", "OFFLINE": "#bdbdbd"}
ORDER = tuple(COLOURS)
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 36, 24, 12


def hours_chart(by_hour, labels):
    """by_hour: {"HH": {verdict name: n}} (events.day_report) -> an SVG document: one stacked bar per hour of the
    day, a legend of the verdicts present. labels: verdict name -> the text to show for it."""
    peak = max([sum(counts.values()) for counts in by_hour.values()] + [1])
    bar = (WIDTH - LEFT) / 24
    plot_h = HEIGHT - BOTTOM - TOP
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">'
             % (WIDTH, HEIGHT + 20, WIDTH, HEIGHT + 20),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>' % (LEFT, HEIGHT - BOTTOM, WIDTH,
                                                                       HEIGHT - BOTTOM),
             '<text x="2" y="%d" font-size="11" font-family="sans-serif">%d</text>' % (TOP + 4, peak)]
    present = []
    for hour in range(24):
        counts = by_hour.get("%02d" % hour, {})
        y = HEIGHT - BOTTOM
        for name in ORDER + tuple(sorted(set(counts) - set(ORDER))):
            n = counts.get(name, 0)
            if not n:
                continue
            if name not in present:
                present.append(name)
            h = plot_h * n / peak
            y -= h
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%02d:00 %s %d</title>'
                         '</rect>' % (LEFT + hour * bar + 1, y, bar - 2, h, COLOURS.get(name, "#999"), hour,
                                      escape(labels.get(name, name)), n))
        if hour % 3 == 0:
            parts.append('<text x="%.1f" y="%d" font-size="11" font-family="sans-serif">%02d</text>'
                         % (LEFT + hour * bar, HEIGHT - 8, hour))
    for i, name in enumerate(present):
        x = LEFT + i * 100
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (x, HEIGHT + 4, COLOURS.get(name,
                                                                                                         "#999")))
        parts.append('<text x="%d" y="%d" font-size="11" font-family="sans-serif">%s</text>'
                     % (x + 14, HEIGHT + 13, escape(labels.get(name, name))))
    parts.append("</svg>")
    return "\n".join(parts)
