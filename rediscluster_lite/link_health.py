"""When a subscriber's link is dead or must be probed: the pub/sub health-check policy, as pure code.

The rules it keeps (every time is an argument; nothing here reads a clock or touches a socket):

* A link that owes answers (a subscribe, a PING) must say something within ``timeout`` of being asked, and
  within ``timeout`` of each thing it says while answers are still due: otherwise it is lost (a node that
  hangs, or a network that drops packets silently, is then treated like a closed connection).
* A link that owes nothing and has been silent for ``interval`` is sent a PING, so such a failure is noticed
  on an idle subscriber too. ``interval`` ``None`` or 0 turns the probing off; ``timeout`` ``None`` turns the
  loss rule off.
"""

from __future__ import annotations

__all__ = ["LinkHealth"]


class LinkHealth:
    """Per link: when it last said anything, and since when it owes an answer."""

    __slots__ = ("timeout", "interval", "_heard", "_owing")

    def __init__(self, timeout: float | None, interval: float | None) -> None:
        self.timeout = timeout
        self.interval = interval or None
        self._heard: dict[str, float] = {}
        self._owing: dict[str, float] = {}

    def opened(self, link: str, now: float) -> None:
        self._heard[link] = now

    def asked(self, link: str, now: float) -> None:
        """Commands were sent on ``link``: an answer is due (the clock starts at the first unanswered one)."""
        self._owing.setdefault(link, now)

    def heard(self, link: str, now: float) -> None:
        self._heard[link] = now

    def settled(self, link: str, now: float, still_owing: bool) -> None:
        """``link``'s replies so far were read: with answers still due, they get a new timeout from ``now``."""
        if still_owing:
            self._owing[link] = now
        else:
            self._owing.pop(link, None)

    def forget(self, link: str) -> None:
        self._heard.pop(link, None)
        self._owing.pop(link, None)

    def check(self, links: list[str], now: float) -> tuple[list[str], list[str]]:
        """``(lost, to_ping)`` among ``links`` at ``now``."""
        lost: list[str] = []
        to_ping: list[str] = []
        for link in links:
            owing = self._owing.get(link)
            if owing is not None:
                if self.timeout is not None and now - owing > self.timeout:
                    lost.append(link)
            elif self.interval and now - self._heard.get(link, now) >= self.interval:
                to_ping.append(link)
        return lost, to_ping

    def next_check(self, links: list[str], until: float) -> float:
        """The earliest time (at most ``until``) at which :meth:`check` could answer differently."""
        wake = until
        for link in links:
            owing = self._owing.get(link)
            if owing is not None:
                if self.timeout is not None:
                    wake = min(wake, owing + self.timeout)
            elif self.interval:
                wake = min(wake, self._heard.get(link, 0.0) + self.interval)
        return wake
