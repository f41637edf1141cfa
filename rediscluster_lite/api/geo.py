"""Geospatial commands (GEOADD ... GEOSEARCHSTORE), with redis-py's argument checks and reply shapes.

Rules kept here: every argument error redis-py raises before I/O is a ``DataError`` here too; a command that
stores (``store``/``store_dist``, GEOSEARCHSTORE) names both keys, which must share a slot (``CrossSlotError``
before I/O otherwise); GEORADIUS and GEORADIUSBYMEMBER are write commands to Redis (their STORE options), so they
always go to the master; GEOSEARCH, GEODIST, GEOHASH and GEOPOS are reads. Search replies are a list of names, or
with ``withdist``/``withhash``/``withcoord`` a ``[name, dist, hash, (lon, lat)]`` list per place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import DataError
from . import admin_replies as ar
from . import replies
from .base import Doors, Key

_UNITS = ("m", "km", "mi", "ft")


def geopos(reply: Any) -> list[tuple[float, float] | None]:
    return [None if p is None else (float(p[0]), float(p[1])) for p in reply]


def _coord(pair: Any) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])


def search_reply(withdist: bool, withhash: bool, withcoord: bool) -> Callable[[Any], list] | None:
    """The conversion of a GEOSEARCH/GEORADIUS reply for these options (None: names only, as sent)."""
    casts: list[Callable[[Any], Any]] = [lambda name: name]
    casts += [cast for cast, on in ((float, withdist), (int, withhash), (_coord, withcoord)) if on]
    if len(casts) == 1:
        return None

    def convert(reply: Any) -> list:
        return [[cast(value) for cast, value in zip(casts, place)] for place in reply]

    return convert


REPLIES: dict[str, Callable[[Any], Any]] = {
    "GEODIST": replies.float_or_none,
    "GEOHASH": ar.texts,
    "GEOPOS": geopos,
}


def _radius_options(kw: dict[str, Any], what: str) -> list[Any]:
    unit = kw["unit"]
    if unit and unit not in _UNITS:
        raise DataError(f"{what} invalid unit")
    pieces: list[Any] = [unit or "m"]
    if kw["any"] and kw["count"] is None:
        raise DataError("``any`` can't be provided without ``count``")
    pieces += [word for word, on in ((b"WITHDIST", kw["withdist"]), (b"WITHCOORD", kw["withcoord"])) if on]
    if kw["withhash"]:
        pieces.append(b"WITHHASH")
    if kw["count"] is not None:
        pieces += [b"COUNT", kw["count"], *([b"ANY"] if kw["any"] else [])]
    if kw["sort"]:
        if kw["sort"] not in ("ASC", "DESC"):
            raise DataError(f"{what} invalid sort")
        pieces.append(kw["sort"].encode())
    if kw["store"] and kw["store_dist"]:
        raise DataError(f"{what} store and store_dist can't be set together")
    if kw["store"]:
        pieces += [b"STORE", kw["store"]]
    if kw["store_dist"]:
        pieces += [b"STOREDIST", kw["store_dist"]]
    return pieces


def _search_origin(member: Any, longitude: Any, latitude: Any) -> list[Any]:
    if member is None and (longitude is None or latitude is None):
        raise DataError("GEOSEARCH must have member or longitude and latitude")
    pieces: list[Any] = []
    if member:
        if longitude or latitude:
            raise DataError("GEOSEARCH member and longitude or latitude can't be set together")
        pieces += [b"FROMMEMBER", member]
    if longitude is not None and latitude is not None:
        pieces += [b"FROMLONLAT", longitude, latitude]
    return pieces


def _search_shape(unit: Any, radius: Any, width: Any, height: Any) -> list[Any]:
    if radius is None and (width is None or height is None):
        raise DataError("GEOSEARCH must have radius or width and height")
    if unit is None:
        raise DataError("GEOSEARCH must have unit")
    if unit.lower() not in _UNITS:
        raise DataError("GEOSEARCH invalid unit")
    pieces: list[Any] = []
    if radius:
        if width or height:
            raise DataError("GEOSEARCH radius and width or height can't be set together")
        pieces += [b"BYRADIUS", radius, unit]
    if width and height:
        pieces += [b"BYBOX", width, height, unit]
    return pieces


def _search_tail(sort: Any, count: Any, any: bool) -> list[Any]:
    pieces: list[Any] = []
    if sort:
        if sort.upper() not in ("ASC", "DESC"):
            raise DataError("GEOSEARCH invalid sort")
        pieces.append(sort.upper().encode())
    if count:
        pieces += [b"COUNT", count, *([b"ANY"] if any else [])]
    elif any:
        raise DataError("GEOSEARCH ``any`` can't be provided without count")
    return pieces


class GeoCommands(Doors):
    def geoadd(self, name: Key, values: Sequence[Any], nx: bool = False, xx: bool = False, ch: bool = False) -> int:
        """Add places given flat as ``[lon, lat, member, lon, lat, member, ...]``; returns how many were added
        (changed too, with ``ch``)."""
        if nx and xx:
            raise DataError("GEOADD allows either 'nx' or 'xx', not both")
        if len(values) % 3 != 0:
            raise DataError("GEOADD requires places with lon, lat and name values")
        flags = [word for word, on in ((b"NX", nx), (b"XX", xx), (b"CH", ch)) if on]
        return self._keyed((b"GEOADD", name, *flags, *values), name, False)

    def geodist(self, name: Key, place1: Any, place2: Any, unit: str | None = None) -> float | None:
        if unit and unit not in _UNITS:
            raise DataError("GEODIST invalid unit")
        args = (b"GEODIST", name, place1, place2, unit) if unit else (b"GEODIST", name, place1, place2)
        return self._keyed(args, name, True, replies.float_or_none)

    def geohash(self, name: Key, *values: Any) -> list[str | None]:
        """Each member's geohash as ``str`` (None for a missing member)."""
        return self._keyed((b"GEOHASH", name, *values), name, True, ar.texts)

    def geopos(self, name: Key, *values: Any) -> list[tuple[float, float] | None]:
        """Each member's ``(longitude, latitude)`` (None for a missing member)."""
        return self._keyed((b"GEOPOS", name, *values), name, True, geopos)

    def georadius(
        self,
        name: Key,
        longitude: float,
        latitude: float,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: Key | None = None,
        store_dist: Key | None = None,
        any: bool = False,
    ) -> list | int:
        """Places within ``radius`` of a point (deprecated by Redis for GEOSEARCH); the stored count with
        ``store``/``store_dist``."""
        kw = dict(unit=unit, withdist=withdist, withcoord=withcoord, withhash=withhash, count=count, sort=sort)
        kw.update(store=store, store_dist=store_dist, any=any)
        return self._radius((b"GEORADIUS", name, longitude, latitude, radius), name, kw, "GEORADIUS")

    def georadiusbymember(
        self,
        name: Key,
        member: Any,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: Key | None = None,
        store_dist: Key | None = None,
        any: bool = False,
    ) -> list | int:
        """As :meth:`georadius`, around a member of the set."""
        kw = dict(unit=unit, withdist=withdist, withcoord=withcoord, withhash=withhash, count=count, sort=sort)
        kw.update(store=store, store_dist=store_dist, any=any)
        return self._radius((b"GEORADIUSBYMEMBER", name, member, radius), name, kw, "GEORADIUS")

    def _radius(self, head: tuple, name: Key, kw: dict[str, Any], what: str) -> Any:
        args = (*head, *_radius_options(kw, what))
        target = kw["store"] or kw["store_dist"]
        if target:
            return self._multi_keyed(args, (name, target), False)
        return self._keyed(args, name, False, search_reply(kw["withdist"], kw["withhash"], kw["withcoord"]))

    def geosearch(
        self,
        name: Key,
        member: Any = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        withcoord: bool = False,
        withdist: bool = False,
        withhash: bool = False,
    ) -> list:
        """Places in a circle (``radius``) or box (``width``/``height``) around a member or a point."""
        pieces = _search_origin(member, longitude, latitude) + _search_shape(unit, radius, width, height)
        pieces += _search_tail(sort, count, any)
        pieces += [w for w, on in ((b"WITHDIST", withdist), (b"WITHCOORD", withcoord), (b"WITHHASH", withhash)) if on]
        convert = search_reply(withdist, withhash, withcoord)
        return self._keyed((b"GEOSEARCH", name, *pieces), name, True, convert)

    def geosearchstore(
        self,
        dest: Key,
        name: Key,
        member: Any = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        storedist: bool = False,
    ) -> int:
        """As :meth:`geosearch`, stored in ``dest`` (same slot as ``name``); returns how many were stored."""
        pieces = _search_origin(member, longitude, latitude) + _search_shape(unit, radius, width, height)
        pieces += _search_tail(sort, count, any)
        if storedist:
            pieces.append(b"STOREDIST")
        return self._multi_keyed((b"GEOSEARCHSTORE", dest, name, *pieces), (dest, name), False)
