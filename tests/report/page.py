"""Reads the report's HTML back the way a test needs it: tables by id, the
text of every element with an id, the images and every URL it references."""

from __future__ import annotations

from collections import defaultdict
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
     "source", "track", "wbr"}
)  # fmt: skip


class Page(HTMLParser):
    """A parsed report.

    tables: table id -> body rows, each a list of cell texts (th and td)
    texts: element id -> its whitespace-normalised text
    images: element id -> attributes of the <img> elements inside it
    urls: every src and href value, in document order
    tags: every start tag's name, in document order
    """

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.images: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.urls: list[str] = []
        self.tags: list[str] = []
        self._texts: dict[str, list[str]] = defaultdict(list)
        self._open: list[tuple[str, str | None]] = []
        self._rows: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self.feed(html)
        self.close()

    @property
    def texts(self) -> dict[str, str]:
        return {
            key: " ".join("".join(parts).split()) for key, parts in self._texts.items()
        }

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        self.urls += [
            attributes[name] for name in ("src", "href") if name in attributes
        ]
        if tag == "img":
            for _, element_id in self._open:
                if element_id:
                    self.images[element_id].append(attributes)
        if tag in VOID_ELEMENTS:
            return
        self._open.append((tag, attributes.get("id")))
        if tag == "table" and attributes.get("id"):
            self._rows = self.tables.setdefault(attributes["id"], [])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._rows is not None and not self._in_head:
            self._row = []
            self._rows.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop()[0] != tag:
            pass
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self._texts[element_id].append(data)
        if self._cell is not None:
            self._cell.append(data)


def number(text: str) -> int:
    """'79,764' -> 79764."""
    return int(text.replace(",", ""))
