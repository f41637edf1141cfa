import sys

# Installed (`pip install -e .`), the package's pytest11 entry point has already imported and registered
# the plugin before any conftest loads, and pytest refuses to register the same module twice.
if "rediscluster_lite.pytest_plugin" not in sys.modules:
    pytest_plugins = ["rediscluster_lite.pytest_plugin"]
