"""Settings for the benchmarks' Daphne only: production settings plus a hello-world floor URL (bench.urls)."""

from marketplace.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# bench/fanout.py's comparison: the same Redis through channels-redis' pub/sub layer (one PUBLISH per group
# and process, fanned out in-process) instead of the default layer (one message per member channel).
if env("BENCH_CHANNEL_LAYER", "") == "pubsub":  # noqa: F405
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"] = {  # noqa: F405
        "hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],  # noqa: F405
        "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],  # noqa: F405
    }
