"""Hostile input every form and page must survive: shown as text, never run, never cut."""

from html.parser import HTMLParser

PAYLOADS: dict[str, str] = {
    "script": "<script>alert('kam')</script>",
    "event_handler": '"><img src=x onerror="alert(1)"><b onmouseover=alert(2)>x</b>',
    "javascript_link": '[click](javascript:alert(1)) <a href="javascript:alert(1)">x</a>',
    "svg": '<svg onload="alert(1)"><script>alert(2)</script></svg>',
    "rtl_override": "Rechnung\u202egpj.exe\u202c \u2067ltr\u2069",
    "sql": "'; DROP TABLE accounts_account; -- \" OR 1=1",
    "formula": '=HYPERLINK("http://evil.example/x","Klick")',
}

HUGE = "A" * 100_000
NUL = "before\x00after"


class _RunnableFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        if tag == "svg":
            self.found.append("<svg>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and "alert(" in value:
                self.found.append(f"<{tag} {name}>")
            if name in {"href", "src", "action", "formaction"} and value.startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(" in data:
            self.found.append("<script>alert(")


def runnable(html: str) -> list[str]:
    """The payload markup ``html`` would run in a browser, as real tags and attributes (the
    same text escaped and shown is fine); empty when the page is safe."""
    finder = _RunnableFinder()
    finder.feed(html)
    return finder.found
