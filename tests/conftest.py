import sys

import pytest

# Installed (`pip install -e .`), the package's pytest11 entry point has already imported and registered
# the plugin before any conftest loads, and pytest refuses to register the same module twice.
if "rediscluster_lite.pytest_plugin" not in sys.modules:
    pytest_plugins = ["rediscluster_lite.pytest_plugin"]

# Tests that start redis-server: every test of a *_live.py module, every test using a cluster fixture,
# and tests marked `live` by hand (they start a LocalCluster themselves). `pytest -m "not live"` is the fast
# loop: unit, router, reader and fake-node tests, no redis-server needed.
_CLUSTER_FIXTURES = {"redis_cluster", "redis_cluster_factory"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if getattr(item, "module", None) is not None else ""
        if module.endswith("_live") or _CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


# Coroutine tests run on a fresh event loop each, in asyncio's debug mode (it reports never-awaited
# coroutines, unretrieved task exceptions and slow callbacks), so no plugin is needed for them. Each runs
# on the default loop and, when uvloop is installed, on uvloop too (the test id says which).
_ASYNC_TEST_LIMIT = 120.0  # seconds


def _loops() -> list[str]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    import inspect

    if inspect.iscoroutinefunction(metafunc.function):
        metafunc.fixturenames.append("event_loop_kind")
        metafunc.parametrize("event_loop_kind", _loops())


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    import asyncio
    import inspect

    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    # A hang is a failure with a traceback, not a stuck run.
    coroutine = asyncio.wait_for(pyfuncitem.obj(**kwargs), _ASYNC_TEST_LIMIT)
    if pyfuncitem.callspec.params.get("event_loop_kind") == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
        loop.set_debug(True)
        try:
            loop.run_until_complete(coroutine)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    else:
        asyncio.run(coroutine, debug=True)
    return True


# One test body for both clients: `make_client` / `client_kind` (see both_clients.py).
try:
    from both_clients import client_kind, make_client  # noqa: F401 - fixtures for every test module
except ImportError:  # this file copied alone into a scratch project (test_local.py's plugin tests)
    pass
