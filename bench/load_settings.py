"""Settings of the load bench (bench/load.py): the product settings plus one bare view (bench/load_urls.py)."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.load_urls"
