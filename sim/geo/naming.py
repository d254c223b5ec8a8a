"""Place ids from names anyone wrote (OSM names, plans): safe, unique, readable, and the name kept as a label.

An id is the name folded to lower-case ASCII where it can be ("Töölönlahden puisto" ->
``toolonlahden_puisto``; letters of other scripts are kept, lower-cased, as ``PLACE_NAME`` allows),
runs of anything else turned into one ``_``, at most ``MAX_ID`` characters. A name that folds to
nothing gets ``<kind>_<n>``; a second place with the same id gets its kind appended
(``rautatientori_street``), then a number. Ids never name files: every cache keys them by hash.
"""

from __future__ import annotations

import re
import unicodedata

from .ascii import PLACE_NAME, RESERVED_NAMES

MAX_ID = 60
MAP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a map's name: also its file's name


def slug(text: str) -> str:
    """``text`` as an id's letters: lower case, accents dropped, ``_`` between words ('' if none)."""
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    words = re.findall(r"[^\W_]+", folded)
    out = ""
    for word in words:
        if len(out) + len(word) + (1 if out else 0) > MAX_ID:
            break
        out = f"{out}_{word}" if out else word
    return out or "_".join(words)[:MAX_ID].strip("_")


class PlaceIds:
    """Hands out unique ids; ``take`` in order of priority (the first place named X gets ``x``)."""

    def __init__(self, reserved=()):
        self.used = set(RESERVED_NAMES) | set(reserved)
        self.counts: dict[str, int] = {}

    def take(self, name: str | None, kind: str) -> str:
        base = slug(name) if name else ""
        if not base:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            base = f"{kind}_{self.counts[kind]}"
        for cand in self._candidates(base, kind):
            if cand not in self.used and PLACE_NAME.match(cand):
                self.used.add(cand)
                return cand
        raise ValueError(f"no free id for {name!r}")  # 10,000 places of one name: not a map

    @staticmethod
    def _candidates(base: str, kind: str):
        yield base
        if not base.startswith(kind):
            yield f"{base}_{kind}"
        for k in range(2, 10_000):
            yield f"{base}_{k}"


def check_map_name(name: str) -> str:
    """``name`` if it may name a map (and its files), else ValueError."""
    if not isinstance(name, str) or not MAP_NAME.match(name):
        raise ValueError(f"a map name is 1-64 lower-case letters, digits, _ and -, starting with a letter or "
                         f"digit (it names the map's files); got {name!r}")
    return name
