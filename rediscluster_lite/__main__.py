"""``python -m rediscluster_lite``: the same as the ``rediscluster-lite`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
