"""The argv, routing door and argument errors of the geo, server, cluster-admin, client, ACL, script and function
methods, and their reply conversions and merges, with no server (tests/recorder.py's recording doors)."""

from __future__ import annotations

import datetime

import pytest
from recorder import Recorder

from rediscluster_lite import fanout
from rediscluster_lite.api import REPLY_BY_COMMAND, admin_replies, cluster_admin, geo
from rediscluster_lite.errors import DataError

r = Recorder()


class SlotRecorder(Recorder):
    """Also records the commands framed by slot (cluster_countkeysinslot ...)."""

    def _framed(self, entry: tuple) -> tuple:
        return entry


# --- geo -------------------------------------------------------------------------------------------


def test_geoadd_puts_its_flags_before_the_places():
    sent = r.geoadd("g", [1.0, 2.0, "a"], nx=True, ch=True)
    assert (sent.door, sent.args, sent.readonly) == ("keyed", (b"GEOADD", "g", b"NX", b"CH", 1.0, 2.0, "a"), False)


@pytest.mark.parametrize(
    "call",
    [
        lambda: r.geoadd("g", [1, 2, "a"], nx=True, xx=True),
        lambda: r.geoadd("g", [1, 2]),
        lambda: r.geodist("g", "a", "b", unit="league"),
        lambda: r.georadius("g", 1, 2, 3, unit="yard"),
        lambda: r.georadius("g", 1, 2, 3, any=True),
        lambda: r.georadius("g", 1, 2, 3, sort="asc"),
        lambda: r.georadius("g", 1, 2, 3, store="a", store_dist="b"),
        lambda: r.geosearch("g", radius=1),
        lambda: r.geosearch("g", member="m", longitude=1, latitude=2, radius=1),
        lambda: r.geosearch("g", member="m"),
        lambda: r.geosearch("g", member="m", radius=1, width=1, height=1),
        lambda: r.geosearch("g", member="m", radius=1, unit=None),
        lambda: r.geosearch("g", member="m", radius=1, unit="yard"),
        lambda: r.geosearch("g", member="m", radius=1, sort="up"),
        lambda: r.geosearch("g", member="m", radius=1, any=True),
    ],
)
def test_geo_argument_errors_are_data_errors_before_io(call):
    with pytest.raises(DataError):
        call()


def test_georadius_sends_the_default_unit_and_options_in_redis_pys_order():
    sent = r.georadius("g", 15, 37, 200, withhash=True, withdist=True, count=3, any=True, sort="DESC")
    assert sent.args == (b"GEORADIUS", "g", 15, 37, 200, "m", b"WITHDIST", b"WITHHASH", b"COUNT", 3, b"ANY", b"DESC")
    assert sent.door == "keyed" and sent.readonly is False  # GEORADIUS is a write command (its STORE)


def test_georadius_storing_names_both_keys_and_returns_the_count_as_sent():
    sent = r.georadiusbymember("{t}g", "m", 5, unit="km", store_dist="{t}d")
    assert sent.door == "multi_keyed" and sent.keys == ("{t}g", "{t}d") and sent.convert is None
    assert sent.args == (b"GEORADIUSBYMEMBER", "{t}g", "m", 5, "km", b"STOREDIST", "{t}d")


def test_geosearch_is_a_read_and_geosearchstore_names_both_keys():
    sent = r.geosearch("g", longitude=1, latitude=2, width=3, height=4, unit="km", sort="asc", count=2, withcoord=True)
    assert sent.readonly is True
    assert sent.args == (
        *(b"GEOSEARCH", "g", b"FROMLONLAT", 1, 2, b"BYBOX", 3, 4, "km", b"ASC", b"COUNT", 2, b"WITHCOORD"),
    )
    stored = r.geosearchstore("{t}d", "{t}g", member="m", radius=9, storedist=True)
    assert stored.door == "multi_keyed" and stored.keys == ("{t}d", "{t}g")
    assert stored.args == (b"GEOSEARCHSTORE", "{t}d", "{t}g", b"FROMMEMBER", "m", b"BYRADIUS", 9, "m", b"STOREDIST")


def test_search_replies_are_cast_in_the_servers_order():
    convert = geo.search_reply(withdist=True, withhash=True, withcoord=True)
    assert convert([[b"a", b"1.5", 42, [b"1", b"2"]]]) == [[b"a", 1.5, 42, (1.0, 2.0)]]
    assert geo.search_reply(False, False, False) is None
    assert geo.geopos([[b"1", b"2"], None]) == [(1.0, 2.0), None]
    assert REPLY_BY_COMMAND["GEOHASH"]([b"sq", None]) == ["sq", None]


# --- server ----------------------------------------------------------------------------------------


def test_server_commands_ask_one_master_unless_nodes_are_named():
    assert r.info().door == "keyless" and r.info().args == (b"INFO",)
    assert r.info("server", "clients").args == (b"INFO", "server", "clients")
    assert r.info(target_nodes="all").door == "fanout"
    assert r.config_get("a*", "b*").args == (b"CONFIG", b"GET", "a*", "b*")
    assert r.time().door == "keyless" and r.slowlog_get(5).args == (b"SLOWLOG", b"GET", 5)
    assert r.memory_usage("k", samples=3).args == (b"MEMORY", b"USAGE", "k", b"SAMPLES", 3)
    assert r.memory_usage("k").keys == ("k",)
    assert r.debug_object("k").args == (b"DEBUG", b"OBJECT", "k") and r.debug_object("k").keys == ("k",)


def test_writes_and_whole_cluster_counts_default_to_many_nodes():
    for sent in (r.config_set("a", 1), r.config_resetstat(), r.config_rewrite(), r.slowlog_reset(), r.dbsize()):
        assert sent.door == "fanout"


def test_command_list_filters_and_command_getkeys_needs_a_command():
    assert r.command_list().args == (b"COMMAND", b"LIST")
    assert r.command_list(category="geo", pattern="g*").args == (
        *(b"COMMAND", b"LIST", b"FILTERBY", b"ACLCAT", "geo", b"PATTERN", "g*"),
    )
    with pytest.raises(DataError):
        r.command_getkeys()
    with pytest.raises(DataError):
        r.command_getkeysandflags()


def test_readonly_and_readwrite_are_refused_before_io():
    for method in (r.readonly, r.readwrite):
        with pytest.raises(ValueError, match="read_from"):
            method()


def test_merges_follow_redis_pys_cluster_client():
    assert fanout.like_redis_py()({"a:1": b"x"}) == b"x"
    assert fanout.like_redis_py(admin_replies.ok)({"a:1": b"OK", "b:2": b"OK"}) == {"a:1": True, "b:2": True}
    assert fanout.like_redis_py(admin_replies.ok, fanout.all_true)({"a:1": b"OK", "b:2": b"NO"}) is False
    assert fanout.like_redis_py(None, fanout.summed)({"a:1": 1, "b:2": 2}) == 3
    assert fanout.like_redis_py(None, fanout.largest)({"a:1": 1, "b:2": 0}) == 1
    assert fanout.sha_of_all({"a:1": b"abc", "b:2": b"abc"}) == "abc"
    with pytest.raises(ValueError, match="disagree"):
        fanout.sha_of_all({"a:1": b"abc", "b:2": b"abd"})


def test_a_merged_single_node_default_applies_the_merge_too():
    sent = r.config_set("a", 1, target_nodes=None)
    assert sent.door == "keyless" and sent.convert(b"OK") is True
    assert r.wait(1, 10).convert(2) == 2


def test_info_is_parsed_as_redis_py_parses_it():
    text = b"# Server\r\nredis_version:7.0.15\r\nuptime:12\r\nratio:1.5\r\ndb0:keys=1,expires=0\r\nlist:a,b\r\nodd\r\n"
    assert admin_replies.parse_info(text) == {
        "redis_version": "7.0.15",
        "uptime": 12,
        "ratio": 1.5,
        "db0": {"keys": 1, "expires": 0},
        "list": ["a", "b"],
        "__raw__": ["odd"],
    }


def test_server_reply_conversions():
    assert admin_replies.config_dict([b"a", b"1", b"b", None]) == {"a": "1", "b": None}
    assert admin_replies.unix_datetime(b"0") == datetime.datetime.fromtimestamp(0)
    assert admin_replies.time_pair([b"5", b"6"]) == (5, 6)
    assert admin_replies.memory_stats([b"peak.allocated", 5, b"ratio", b"1.5", b"db.0", [b"x", 1]]) == {
        "peak.allocated": 5,
        "ratio": 1.5,
        "db.0": {"x": 1},
    }
    entry = [7, b"100", b"3", [b"GET", b"k"], b"127.0.0.1:1", b"name"]
    assert admin_replies.slowlog_entries([entry]) == [
        {"id": 7, "start_time": 100, "duration": 3, "command": b"GET k", "client_address": b"127.0.0.1:1"}
        | {"client_name": b"name"}
    ]
    assert admin_replies.debug_object(b"Value at:0x1 refcount:1 encoding:int lru:3")["refcount"] == 1


# --- cluster, client, ACL ---------------------------------------------------------------------------


def test_slot_commands_go_to_the_slots_owner_and_check_the_slot():
    s = SlotRecorder()
    packed, slot, readonly, convert = s.cluster_get_keys_in_slot(77, 5)
    assert slot == 77 and b"GETKEYSINSLOT" in packed and convert([b"a"]) == ["a"]
    assert s.cluster_countkeysinslot(16383)[1] == 16383
    for bad in (-1, 16384, "7", True):
        with pytest.raises(DataError):
            s.cluster_countkeysinslot(bad)


def test_cluster_node_lines_are_parsed_as_redis_py_does():
    line = "abc 127.0.0.1:7000@17000,host myself,master - 0 5 1 connected 0-10 12 [13->-def] [14-<-ghi]"
    nodes = cluster_admin.cluster_nodes(line.encode())
    assert nodes == {
        "127.0.0.1:7000": {
            "node_id": "abc",
            "hostname": "host",
            "flags": "myself,master",
            "master_id": "-",
            "last_ping_sent": "0",
            "last_pong_rcvd": "5",
            "epoch": "1",
            "slots": [["0", "10"], ["12"]],
            "migrations": [
                {"slot": "13", "node_id": "def", "state": "migrating"},
                {"slot": "14", "node_id": "ghi", "state": "importing"},
            ],
            "connected": True,
        }
    }
    slots = cluster_admin.cluster_slots([[0, 5, [b"h", 1, b"id"], [b"r", 2, b"id2"]]])
    assert slots == {(0, 5): {"primary": ("h", 1), "replicas": [("r", 2)]}}
    shards = cluster_admin.cluster_shards([[b"slots", [0, 5], b"nodes", [[b"id", b"x", b"port", 1]]]])
    assert shards == [{"slots": [0, 5], "nodes": [{b"id": b"x", b"port": 1}]}]


def test_client_commands_check_their_arguments_as_redis_py():
    assert r.client_list(_type="normal", client_id=[1, 2]).args == (b"CLIENT", b"LIST", b"TYPE", "normal", b"ID", 1, 2)
    sent = r.client_kill_filter(_id=5, skipme=False, maxage=9)
    assert sent.args == (b"CLIENT", b"KILL", b"SKIPME", b"NO", b"ID", 5, b"MAXAGE", 9)
    for call in (
        lambda: r.client_list(_type="bogus"),
        lambda: r.client_list(client_id=1),
        lambda: r.client_kill_filter(),
        lambda: r.client_kill_filter(skipme=1),
        lambda: r.client_kill_filter(_type="bogus"),
    ):
        with pytest.raises(DataError):
            call()
    assert admin_replies.client_list(b"id=1 addr=a b name=x\n") == [{"id": "1", "addr": "a b", "name": "x"}]
    assert admin_replies.client_fields(b"id=3 name=n age=4")["age"] == 4
    assert admin_replies.client_kill(b"OK") is True and admin_replies.client_kill(2) == 2


def test_acl_setuser_builds_redis_pys_rules_and_reaches_every_node():
    sent = r.acl_setuser(
        "u",
        enabled=True,
        passwords=["+a", "-b"],
        hashed_passwords="+" + "c" * 64,
        categories=["+read", "-@write"],
        commands=["+get"],
        keys=["k*", "%R~r"],
        channels=["ch"],
        selectors=[("+set", "s*")],
        reset=True,
        reset_keys=True,
    )
    assert sent.door == "fanout"
    assert sent.args == (
        *(b"ACL", b"SETUSER", "u", b"reset", b"resetkeys", b"on", b">a", b"<b", b"#" + b"c" * 64),
        *(b"+@read", b"-@write", b"+get", b"~k*", b"%R~r", b"&ch", b"(+set ~s*)"),
    )
    assert r.acl_deluser("a", "b").door == "fanout" and r.acl_log_reset().door == "fanout"
    assert r.acl_getuser("u").door == "keyless"


@pytest.mark.parametrize(
    "call",
    [
        lambda: r.acl_setuser("u", nopass=True, passwords=["+x"]),
        lambda: r.acl_setuser("u", passwords=["x"]),
        lambda: r.acl_setuser("u", hashed_passwords=["x"]),
        lambda: r.acl_setuser("u", categories=["read"]),
        lambda: r.acl_setuser("u", commands=["get"]),
        lambda: r.acl_setuser("u", selectors=[("get", "k")]),
        lambda: r.acl_genpass(4097),
        lambda: r.acl_genpass("many"),
        lambda: r.acl_log(count="2"),
    ],
)
def test_acl_argument_errors_are_data_errors_before_io(call):
    with pytest.raises(DataError):
        call()


def test_acl_replies_are_converted_as_redis_py_does():
    user = admin_replies.acl_getuser(
        [b"flags", [b"on"], b"passwords", [], b"commands", b"-@all +get", b"keys", b"~a ~b", b"channels", b""]
        + [b"selectors", [[b"commands", b"+set"]]]
    )
    assert user == {
        "flags": ["on"],
        "passwords": [],
        "commands": ["+get"],
        "categories": ["-@all"],
        "keys": ["~a", "~b"],
        "channels": [],
        "selectors": [["commands", "+set"]],
        "enabled": True,
    }
    assert admin_replies.acl_getuser(None) is None
    log = admin_replies.acl_log([[b"count", 1, b"age-seconds", b"0.5", b"client-info", b"id=4 name=x"]])
    assert log == [{"count": 1, "age-seconds": 0.5, "client-info": {"id": 4, "name": "x"}}]
    assert admin_replies.acl_log(b"OK") is True


# --- scripts and functions -------------------------------------------------------------------------


def test_script_and_function_commands_fan_out_and_check_their_arguments():
    assert r.script_flush("ASYNC").args == (b"SCRIPT", b"FLUSH", "ASYNC") and r.script_flush().door == "fanout"
    with pytest.raises(DataError):
        r.script_flush("later")
    assert r.function_load("code", replace=True).args == (b"FUNCTION", b"LOAD", b"REPLACE", "code")
    assert r.function_list("lib", withcode=True).args == (b"FUNCTION", b"LIST", b"LIBRARYNAME", "lib", b"WITHCODE")
    assert r.function_restore(b"x", policy=None).args == (b"FUNCTION", b"RESTORE", b"x")
    assert r.function_flush().args == (b"FUNCTION", b"FLUSH", "SYNC")
    assert r.function_dump().door == "keyless"


def test_kill_and_stats_need_the_node_running_the_script():
    for method in (r.script_kill, r.function_kill, r.function_stats):
        with pytest.raises(DataError, match="target_nodes"):
            method()
        assert method(target_nodes="primaries").door == "fanout"
