"""The pub/sub link health policy on its own: times are plain numbers."""

from __future__ import annotations

from rediscluster_lite.link_health import LinkHealth


def test_a_link_owing_an_answer_is_lost_after_the_timeout_not_before():
    h = LinkHealth(timeout=5.0, interval=30.0)
    h.opened("a", 0.0)
    h.asked("a", 1.0)
    assert h.check(["a"], 6.0) == ([], [])
    assert h.check(["a"], 6.5) == (["a"], [])


def test_each_thing_said_while_answers_are_due_restarts_the_timeout():
    h = LinkHealth(timeout=5.0, interval=None)
    h.asked("a", 0.0)
    h.settled("a", 4.0, still_owing=True)
    assert h.check(["a"], 8.0) == ([], [])
    assert h.check(["a"], 9.5) == (["a"], [])


def test_a_settled_idle_link_is_pinged_after_the_interval_of_silence():
    h = LinkHealth(timeout=5.0, interval=30.0)
    h.opened("a", 0.0)
    h.asked("a", 0.0)
    h.heard("a", 0.5)
    h.settled("a", 0.5, still_owing=False)
    assert h.check(["a"], 30.0) == ([], [])
    assert h.check(["a"], 30.5) == ([], ["a"])


def test_interval_none_never_pings_and_timeout_none_never_loses():
    h = LinkHealth(timeout=None, interval=None)
    h.opened("a", 0.0)
    h.asked("b", 0.0)
    assert h.check(["a", "b"], 1e9) == ([], [])
    assert h.next_check(["a", "b"], 42.0) == 42.0


def test_next_check_is_the_earliest_deadline_and_forget_drops_a_link():
    h = LinkHealth(timeout=5.0, interval=30.0)
    h.opened("idle", 10.0)
    h.asked("busy", 20.0)
    assert h.next_check(["idle", "busy"], 1000.0) == 25.0
    h.forget("busy")
    assert h.next_check(["idle"], 1000.0) == 40.0
