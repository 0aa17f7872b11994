"""A tiny reader of report pages for tests: elements by class, with their attributes and text.

Order-independent (nbconvert and Chromium each re-serialise the HTML we write), stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"br", "img", "meta", "link", "hr", "input"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    hrefs: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self, cls: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cls = cls
        self.found: list[Element] = []
        self.open: list[tuple[Element, int]] = []  # collected elements still open, with their depth
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for el, _ in self.open:
            if tag == "a" and "href" in a:
                el.hrefs.append(a["href"])
        if tag in VOID:
            return
        self.depth += 1
        if self.cls in a.get("class", "").split():
            el = Element(tag, a)
            self.found.append(el)
            self.open.append((el, self.depth))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        self.open = [(el, d) for el, d in self.open if d < self.depth]
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        for el, _ in self.open:
            el.text += data


def by_class(html: str, cls: str) -> list[Element]:
    """Every element whose class list contains ``cls``, in document order."""
    parser = _Collector(cls)
    parser.feed(html)
    return parser.found
