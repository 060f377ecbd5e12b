"""Field readers every adapter applies to a museum's untrusted JSON, and the BadRecord error they raise."""

import html
import re
from typing import Any


class BadRecord(ValueError):
    """A source record that cannot be normalised; its message is the reason stored in crawl_failures."""


def text_field(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """A string field, stripped; None when absent or empty; BadRecord when it has the wrong type."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadRecord(f"missing {key}")
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{key} is not a string")
    value = value.strip()
    if not value and required:
        raise BadRecord(f"missing {key}")
    return value or None


def int_field(data: dict[str, Any], key: str) -> int | None:
    """An integer field (numeric strings accepted, as some APIs send them); BadRecord for anything else."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{key} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise BadRecord(f"{key} is not an integer")


def id_field(data: dict[str, Any], key: str) -> str:
    """A record identifier (int or non-empty string) as text; BadRecord when missing or of another type."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise BadRecord(f"missing {key}")
    return str(value).strip()


def plain_text(value: str | None) -> str | None:
    """Text without HTML tags and entities (descriptions arrive as HTML from some museums)."""
    if not value:
        return None
    text = html.unescape(re.sub(r"<[^>]+>", " ", value))
    return re.sub(r"\s+", " ", text).strip() or None


def years_from_text(value: str | None) -> tuple[int | None, int | None]:
    """First and last year named in a free-text date such as 'c. 1631' or '1868–70'."""
    if not value:
        return None, None
    abbreviated = re.search(r"\b(\d{2})(\d{2})\s*[–-]\s*(\d{2})\b", value)
    if abbreviated:
        century, start, end = abbreviated.groups()
        return int(century + start), int(century + end)
    years = [int(y) for y in re.findall(r"(?<!\d)(\d{3,4})(?!\d)", value)]
    if not years:
        return None, None
    return years[0], max(years[-1], years[0])
