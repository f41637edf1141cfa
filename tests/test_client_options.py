"""The client options host/port, client_name, health_check_interval and retry, without a server: option checks,
the connection set-up's bytes, the pool's health PING, the retry policy as the router's one budget, URLs."""

from __future__ import annotations

import asyncio
import random

import pytest
from mockstream import EOF, MockNetwork
from test_async_connection import FakeTransport, arrive, turn
from test_router import M1, OK, Driver, FakeState, err

from rediscluster_lite._async.connection import AsyncConnection
from rediscluster_lite._sync.connection import PING, Connection
from rediscluster_lite._sync.pool import NodePool
from rediscluster_lite.errors import (
    ClusterDownError,
    ConnectError,
    ConnectionError,
    ConnectTimeout,
    MaybeAppliedError,
    ReadError,
    ReadTimeout,
    ResponseError,
)
from rediscluster_lite.options import client_parts
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.resp import pack_command
from rediscluster_lite.retry import (
    DEFAULT_SUPPORTED_ERRORS,
    ConstantBackoff,
    EqualJitterBackoff,
    ExponentialBackoff,
    ExponentialWithJitterBackoff,
    FullJitterBackoff,
    NoBackoff,
    Retry,
)
from rediscluster_lite.router import SLEEP, RetryPolicy
from rediscluster_lite.settings import ConnectionSettings
from rediscluster_lite.slotmap import Node
from rediscluster_lite.urls import parse_url

NODE = Node("10.0.0.1", 7000)
AUTH = pack_command((b"AUTH", b"s3cret!"))
SETNAME = pack_command((b"CLIENT", b"SETNAME", b"worker-1"))
GET = pack_command((b"GET", b"k"))


# --- host= and port= ---------------------------------------------------------------------------------------


def test_host_and_port_are_a_startup_node_added_after_the_list():
    assert client_parts(host="h1", port=7000).nodes == [("h1", 7000)]
    assert client_parts(host="h1").nodes == [("h1", 6379)]
    assert client_parts(["h0:7000"], host="h1", port=7001).nodes == [("h0", 7000), ("h1", 7001)]
    assert client_parts([("h1", 7000)], host="h1", port=7000).nodes == [("h1", 7000)]  # not twice


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "no node to start from"),
        ({"startup_nodes": []}, ValueError, "no node to start from"),
        ({"startup_nodes": "h1:7000"}, TypeError, "pass host= and port="),
        ({"host": "h1", "port": 0}, ValueError, "port must be"),
        ({"host": "h1", "port": "7000"}, ValueError, "port must be"),
    ],
)
def test_no_node_or_a_bad_one_is_refused_before_any_io(kwargs, error, message):
    with pytest.raises(error, match=message):
        client_parts(**kwargs)


# --- client_name and health_check_interval ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "error"), [("my worker", ValueError), ("a\nb", ValueError), (b"w", TypeError)])
def test_a_client_name_the_server_would_refuse_is_refused_first(name, error):
    with pytest.raises(error):
        client_parts(["h:1"], client_name=name)


def test_an_empty_client_name_or_interval_means_none():
    settings = client_parts(["h:1"], client_name="", health_check_interval=0).settings
    assert settings.client_name is None and settings.health_check_interval is None and settings.setup is None


@pytest.mark.parametrize("interval", [-1, "5", True])
def test_a_negative_or_non_numeric_health_check_interval_is_refused(interval):
    with pytest.raises(ValueError, match="health_check_interval"):
        client_parts(["h:1"], health_check_interval=interval)


def test_the_set_up_is_auth_then_setname_in_one_frame_and_the_repr_hides_the_password():
    settings = ConnectionSettings(password="s3cret!", client_name="worker-1")
    assert settings.setup == (AUTH + SETNAME, ("authenticating to", "setting the client name on"))
    assert ConnectionSettings(client_name="worker-1").setup == (SETNAME, ("setting the client name on",))
    assert ConnectionSettings().setup is None
    assert "s3cret" not in repr(settings) and "worker-1" in repr(settings)


def opened(*script, **settings) -> tuple[Connection, MockNetwork]:
    network = MockNetwork()
    network.script(NODE.name, *script)
    conn = Connection(NODE, ConnectionSettings(stream_opener=network, **settings))
    conn.open()
    return conn, network


def test_a_new_connection_sends_auth_and_setname_in_one_write_before_any_command():
    conn, network = opened(b"+OK\r\n+OK\r\n$1\r\nv\r\n", password="s3cret!", client_name="worker-1")
    assert conn.request(GET) == b"v"
    assert network.opened[0][1].sent == [AUTH + SETNAME, GET]


def test_a_refused_client_name_names_the_step_and_never_the_password():
    network = MockNetwork()
    network.script(NODE.name, b"+OK\r\n-ERR Client names cannot contain spaces\r\n")
    conn = Connection(NODE, ConnectionSettings(stream_opener=network, password="s3cret!", client_name="worker-1"))
    with pytest.raises(ResponseError, match="setting the client name on 10.0.0.1:7000") as info:
        conn.open()
    assert "s3cret" not in str(info.value) and conn.stream is None


@pytest.mark.parametrize(("script", "error"), [((), ConnectTimeout), ((b"+OK\r\n", EOF), ConnectError)])
def test_a_set_up_lost_in_transit_is_a_failed_connect_so_a_write_may_still_be_retried(script, error):
    network = MockNetwork()
    network.script(NODE.name, *script)
    conn = Connection(NODE, ConnectionSettings(stream_opener=network, password="s3cret!", client_name="worker-1"))
    with pytest.raises(error) as info:
        conn.open()
    assert isinstance(info.value, ConnectError) and conn.stream is None  # the router's "nothing was sent"


def health_pool(network: MockNetwork, clock: list[float], monkeypatch) -> NodePool:
    monkeypatch.setattr("rediscluster_lite._sync.pool.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("rediscluster_lite._sync.connection.time.monotonic", lambda: clock[0])
    return NodePool(NODE, ConnectionSettings(stream_opener=network, health_check_interval=10))


def test_a_connection_idle_past_the_interval_answers_a_ping_before_it_is_handed_out(monkeypatch):
    network, clock = MockNetwork(), [100.0]
    network.script(NODE.name, b"+PONG\r\n")
    pool = health_pool(network, clock, monkeypatch)
    conn = pool.acquire()
    pool.release(conn)
    clock[0] = 105.0
    assert pool.acquire() is conn and network.opened[0][1].sent == []  # idle 5 s: no PING
    pool.release(conn)
    clock[0] = 116.0
    assert pool.acquire() is conn and network.opened[0][1].sent == [PING]


def test_a_connection_that_fails_its_health_ping_is_dropped_and_a_new_one_opened(monkeypatch):
    network, clock = MockNetwork(), [100.0]
    network.script(NODE.name, EOF)  # the first connection's peer vanished
    pool = health_pool(network, clock, monkeypatch)
    first = pool.acquire()
    pool.release(first)
    clock[0] = 200.0
    second = pool.acquire()
    assert second is not first and first.stream is None and len(network.opened) == 2
    assert network.opened[1][1].sent == []  # a new connection is fresh: no PING on it


def test_without_an_interval_the_pool_never_pings(monkeypatch):
    network = MockNetwork()
    pool = NodePool(NODE, ConnectionSettings(stream_opener=network))
    conn = pool.acquire()
    pool.release(conn)
    assert pool.acquire() is conn and network.opened[0][1].sent == []


# --- the asyncio connection's set-up and quiet time -----------------------------------------------------------


async def test_the_asyncio_set_up_is_one_write_and_a_refusal_names_the_step():
    conn = AsyncConnection(NODE, ConnectionSettings(password="s3cret!", client_name="worker-1"))
    conn._loop = asyncio.get_running_loop()
    transport = FakeTransport()
    conn.connection_made(transport)
    task = asyncio.ensure_future(conn._set_up(*conn.settings.setup))
    await turn()
    assert transport.writes == [AUTH + SETNAME]
    arrive(conn, b"+OK\r\n-ERR Client names cannot contain spaces\r\n")
    with pytest.raises(ResponseError, match="setting the client name on") as info:
        await task
    assert "s3cret" not in str(info.value) and conn.closed is not None


async def test_an_asyncio_set_up_cut_off_is_a_failed_connect():
    conn = AsyncConnection(NODE, ConnectionSettings(client_name="worker-1"))
    conn._loop = asyncio.get_running_loop()
    conn.connection_made(FakeTransport())
    task = asyncio.ensure_future(conn._set_up(*conn.settings.setup))
    await turn()
    conn.connection_lost(None)
    with pytest.raises(ConnectError, match="setting up the connection"):
        await task


async def test_an_asyncio_connection_is_quiet_only_while_it_owes_nothing():
    conn = AsyncConnection(NODE, ConnectionSettings())
    conn._loop = asyncio.get_running_loop()
    conn.connection_made(FakeTransport())
    conn._heard = 10.0
    assert conn.quiet_for(25.0) == 15.0
    future = conn.request(GET)
    assert conn.quiet_for(1e9) == 0.0
    await turn()
    arrive(conn, b"$1\r\nv\r\n")
    assert await future == b"v" and conn.quiet_for(conn._heard + 3) == 3


# --- retry: the backoffs and the policy -----------------------------------------------------------------------


def test_the_backoffs_follow_redis_pys_formulas():
    assert ConstantBackoff(0.3).compute(7) == 0.3 and NoBackoff().compute(3) == 0
    exp = ExponentialBackoff(cap=1.0, base=0.1)
    assert [exp.compute(n) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 1.0]
    assert exp.compute(10**6) == 1.0  # no overflow on a huge count
    random.seed(7)
    for n in range(1, 12):
        ceiling = min(1.0, 0.1 * 2**n)
        assert 0 <= FullJitterBackoff(1.0, 0.1).compute(n) <= ceiling
        assert ceiling / 2 <= EqualJitterBackoff(1.0, 0.1).compute(n) <= ceiling
        assert 0 <= ExponentialWithJitterBackoff(1.0, 0.1).compute(n) <= ceiling
    assert (
        ExponentialWithJitterBackoff(1.0, 0.1) == ExponentialWithJitterBackoff(1.0, 0.1) != ExponentialBackoff(1.0, 0.1)
    )


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: Retry(NoBackoff(), -1), ValueError),  # redis-py's "forever" is not offered
        (lambda: Retry(NoBackoff(), 2.5), ValueError),
        (lambda: Retry(object(), 2), TypeError),  # type: ignore[arg-type]
        (lambda: Retry(NoBackoff(), 2, ("ConnectionError",)), TypeError),  # type: ignore[arg-type]
        (lambda: ConstantBackoff(-1), ValueError),
        (lambda: ExponentialBackoff(cap="1"), ValueError),  # type: ignore[arg-type]
    ],
    ids=["negative", "float", "no-compute", "error-name", "negative-wait", "text-cap"],
)
def test_a_retry_that_cannot_be_honoured_is_refused_when_built(build, error):
    with pytest.raises(error):
        build()


def test_a_retry_becomes_the_routers_one_policy_and_replaces_max_retries():
    backoff = ExponentialWithJitterBackoff(cap=1.0, base=0.01)
    parts = client_parts(["h:1"], max_retries=9, max_redirects=4, retry=Retry(backoff, 5))
    policy = parts.policy
    assert (policy.max_retries, policy.max_redirects, policy.retry_on) == (5, 4, DEFAULT_SUPPORTED_ERRORS)
    assert policy.backoff_fn == backoff.compute
    assert client_parts(["h:1"], max_retries=9).policy == RetryPolicy(max_retries=9)
    with pytest.raises(TypeError, match="retry must be"):
        client_parts(["h:1"], retry=3)


class Recording:
    """A backoff that records each failure count it is asked about."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def compute(self, failures: int) -> float:
        self.asked.append(failures)
        return failures / 100


def test_every_retry_of_a_refused_connect_waits_what_the_backoff_says_then_gives_up():
    backoff = Recording()
    d = Driver(FakeState(), [ConnectError("refused", M1.name)], Retry(backoff, 4).policy())
    with pytest.raises(ConnectError):
        d.run(slot=100, readonly=False)
    assert backoff.asked == [1, 2, 3, 4] and len(d.sends) == 5
    assert [e[1] for e in d.effects if e[0] == SLEEP] == [0.01, 0.02, 0.03, 0.04]


def test_an_error_outside_supported_errors_is_not_retried_even_for_a_read():
    policy = Retry(NoBackoff(), 3, supported_errors=(ConnectionError,)).policy()
    replicas = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)  # slot 100's shard has three candidates
    d = Driver(replicas, [ReadTimeout("slow", M1.name), OK], policy)
    with pytest.raises(ReadTimeout):
        d.run(slot=100, readonly=True)
    assert len(d.sends) == 1  # the next candidate is not tried either
    d = Driver(FakeState(read_from=ReadFrom.REPLICA_PREFERRED), [ReadError("reset", M1.name), OK], policy)
    assert d.run(slot=100, readonly=True) == b"OK" and len(d.sends) == 2  # a ConnectionError is retried


def test_clusterdown_is_retried_only_when_supported():
    down = err("CLUSTERDOWN The cluster is down")
    d = Driver(FakeState(), [down, OK], Retry(NoBackoff(), 3, supported_errors=(ConnectionError,)).policy())
    with pytest.raises(ClusterDownError):
        d.run(slot=100)
    assert len(d.sends) == 1
    d = Driver(FakeState(), [down, OK], Retry(NoBackoff(), 3).policy())
    assert d.run(slot=100) == b"OK"


def test_no_policy_can_make_a_write_that_may_have_been_applied_go_out_twice():
    policy = Retry(NoBackoff(), 5, supported_errors=(Exception,)).policy()
    d = Driver(FakeState(), [ReadError("reset after the write", M1.name), OK], policy)
    with pytest.raises(MaybeAppliedError):
        d.run(slot=100, readonly=False)
    assert len(d.sends) == 1


# --- URLs -----------------------------------------------------------------------------------------------------


def test_url_options_for_the_name_the_health_check_and_the_budgets():
    _, options = parse_url("redis://h1:7000?client_name=w1&health_check_interval=15&max_retries=2&max_redirects=4")
    assert options == {"client_name": "w1", "health_check_interval": 15.0, "max_retries": 2, "max_redirects": 4}


def test_url_retry_options_become_one_retry_object():
    _, options = parse_url("redis://h1?retry_backoff_base=0.02&retry_backoff_cap=2&max_retries=6&retry_on_timeout=no")
    expected = Retry(ExponentialWithJitterBackoff(cap=2.0, base=0.02), 6, (ConnectionError, ClusterDownError))
    assert options["retry"].backoff == expected.backoff and options["retry"].retries == 6
    assert not any(issubclass(e, TimeoutError) for e in options["retry"].supported_errors)
    assert set(options) == {"retry"}
    _, options = parse_url("redis://h1?retry_on_timeout=yes")
    assert options["retry"].retries == 3 and options["retry"].supported_errors == DEFAULT_SUPPORTED_ERRORS


@pytest.mark.parametrize(
    "query",
    ["max_retries=-1", "max_retries=two", "retry_backoff_base=-0.1", "retry_backoff_cap=nan", "retry=yes", "x=1"],
)
def test_a_malformed_or_unknown_url_option_is_a_value_error(query):
    with pytest.raises(ValueError):
        parse_url(f"redis://u:s3cret@h1?{query}")


def test_url_options_reach_the_client_parts():
    address, options = parse_url("redis://h1:7000?client_name=w1&retry_backoff_base=0.05")
    parts = client_parts([address], **options)
    assert parts.settings.client_name == "w1" and parts.policy.max_retries == 3
    assert parts.policy.backoff_fn is not None
