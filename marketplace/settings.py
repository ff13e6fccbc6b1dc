"""Settings for the marketplace, read from the environment in this one place.

Every value has a development default that works on a fresh development machine
(Postgres on 127.0.0.1:5432 as the role ``marketplace`` that scripts/setup.sh creates, Redis on
127.0.0.1:6379, the Apache Kafka development broker on 127.0.0.1:9092).  Production sets the variables
documented in the README; nothing secret lives in the repository.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import redis.exceptions
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 - refused when DEBUG is off

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "marketplace.accounts",
    # Sign-in by username or email, password reset, email verification and change, TOTP, sessions (README: accounts).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "marketplace.events",
    "marketplace.realtime",
    "marketplace.notifications",
    "marketplace.privacy",
    "jobs",
    "matching",
    "payments",
    "finance",
    "quotes",
    "gateway_simulator",
    "scheduling",
    "chat",
    "tracking",
    "reviews",
    "directory",
    "marketplace.audit",
    "timeline",
    "alerts",
    "insights",
    "demo",
]

MIDDLEWARE = [
    "marketplace.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "marketplace.accounts.middleware.StaffTotpMiddleware",  # after messages: it says why it redirects
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketplace.middleware.DatabaseUnavailableMiddleware",
    "marketplace.logging.AccessLogMiddleware",
    "marketplace.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
ASGI_APPLICATION = "marketplace.asgi.application"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # {{ amount|money }} and {% money_config %} in every template without {% load %}.
            "builtins": ["marketplace.money_tags"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://marketplace:marketplace@127.0.0.1:5432/marketplace"),
        # 0: under ASGI each request runs in its own thread, so persistent connections
        # would pile up. Long-running relay and consumer processes keep theirs anyway.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", "test_marketplace")}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
# Web processes: DATABASE_POOL_SIZE=N gives Daphne a psycopg pool of up to N connections (Procfile web lines set 8).
# Without it each request opens a fresh connection (a Postgres backend fork); the pool tripled job POSTs/s in
# bench/http.py.  Needs DATABASE_CONN_MAX_AGE=0 (the default).  Relay and consumers keep one connection each.
if env_int("DATABASE_POOL_SIZE", 0) > 0:
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": env_int("DATABASE_POOL_SIZE", 0), "timeout": 10}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Accounts: django-allauth (marketplace/accounts/adapter.py, README "Accounts") ---------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",  # username or email
]
ACCOUNT_ADAPTER = "marketplace.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
# Optional but nagging: an unverified address still signs in (existing accounts, the demo) and is reminded on
# every page until the link is followed; a change of email takes over only once the new address is verified.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = True  # sessions last SESSION_COOKIE_AGE, as before; no "remember me" box
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # this session stays; every other one is signed out (session hash)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "TradeLink: "
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False  # a link, as the emails say
# Our own limiter guards sign-in (RATE_LIMITS["login"]); allauth's limits the emails it sends.
ACCOUNT_RATE_LIMITS = {
    "login_failed": False,
    "reset_password": env("RATE_PASSWORD_RESETS", "20/m/ip,5/m/key"),
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_email": "1/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "TradeLink"
# Staff must have an activated TOTP authenticator before any staff page (marketplace/accounts/middleware.py).
STAFF_REQUIRE_TOTP = env_bool("STAFF_REQUIRE_TOTP", True)
USERSESSIONS_TRACK_ACTIVITY = True  # "last seen" on the sessions page

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("DJANGO_TIME_ZONE", "Europe/London")  # default display zone; storage is UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded photos. Nothing serves MEDIA_URL: every photo goes through a view that checks who asks
# (jobs/views.py, /photos/<id>/), so the files need not, and must not, be reachable by their path.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))


def media_storage() -> dict[str, Any]:
    """Where uploads live: a folder (MEDIA_ROOT; a volume in compose.yaml) unless MEDIA_S3_BUCKET names a bucket.

    The bucket (AWS S3 or any S3-compatible store: MinIO, R2, ...) is private: objects are written
    with a private ACL and the photo views redirect to a URL signed for MEDIA_S3_URL_EXPIRE_S seconds.
    Without keys, boto3 finds credentials itself (instance role, AWS_* variables, ~/.aws).
    """
    bucket = env("MEDIA_S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": env_int("MEDIA_S3_URL_EXPIRE_S", 300),
        "file_overwrite": False,
        "location": env("MEDIA_S3_PREFIX", ""),
        "signature_version": "s3v4",  # what AWS regions and S3-compatible stores all accept
    }
    optional = {
        "endpoint_url": "MEDIA_S3_ENDPOINT_URL",
        "region_name": "MEDIA_S3_REGION",
        "access_key": "MEDIA_S3_ACCESS_KEY_ID",
        "secret_key": "MEDIA_S3_SECRET_ACCESS_KEY",
    }
    options.update({option: os.environ[name] for option, name in optional.items() if os.environ.get(name)})
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": media_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS: dict[str, Any] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 times out socket reads after 5 s by default, exactly as long as
            # channels_redis blocks waiting for a message: idle websockets would drop every
            # ~5 s (django/channels_redis#422). A longer read timeout keeps them.
            # max_connections: redis-py 8 caps a pool at 100 and raises (not waits) beyond; a burst of ~100
            # handshakes (each group_add takes a connection) then failed with 1011 (bench/e2e.py, 500 sockets).
            # retry: a pooled connection can still look open for a moment after Redis restarted (more so on a
            # busy event loop); without a retry the first command on it fails, the websocket closes, and the
            # browser backs off up to 10 s more (tests/browser/test_redis_restart.py).  Three quick retries
            # on a fresh connection instead; while Redis is down they add under half a second to each failure.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 15,
                    "max_connections": env_int("CHANNELS_REDIS_MAX_CONNECTIONS", 1000),
                    "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 3),
                    "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
                }
            ],
            "prefix": env("CHANNELS_PREFIX", "marketplace"),
            "capacity": 1000,
            "expiry": 30,
        },
    }
}
CACHES = {
    "default": {
        # Django's Redis backend, with one pool and client per process, not per request (marketplace/cache.py).
        "BACKEND": "marketplace.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", "marketplace"),
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "marketplace.accounts.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # No OPTIONS metadata (405): DRF's SimpleMetadata answered 500 on views without a serializer_class.
    "DEFAULT_METADATA_CLASS": None,
}
# API tokens (django-rest-knox): stored hashed, one per device, each expiring; revoking deletes the row.
# Apps send ``Authorization: Bearer <token>`` (or ``Token <token>``); the websocket takes the same tokens.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 720)
TEAM_INVITATION_TTL_HOURS = env_int("TEAM_INVITATION_TTL_HOURS", 72)  # a team invitation link works this long (scheduling.team)
MY_DAY_AHEAD_DAYS = env_int("MY_DAY_AHEAD_DAYS", 14)  # "My day" and GET /api/me/appointments/ list this many days from today
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20)  # live tokens a user may hold; more is refused
API_TOKEN_LAST_USED_EVERY_SECONDS = 60  # last_used_at is written at most this often per token
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 - a model name, not a secret
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "TOKEN_PREFIX": "tl_",  # lets secret scanners and people recognise a leaked TradeLink token
    "AUTO_REFRESH": False,  # a token lasts its TTL from creation; the app signs in again for a new one
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace API",
    "DESCRIPTION": "Home-service jobs, bids, quotes, scheduling and tracking.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several serializers have a field named "kind": name the trade questions' one.
    "ENUM_NAME_OVERRIDES": {
        "TradeQuestionKindEnum": "jobs.models.TradeQuestion.Kind",
        # A review's and its reply's moderation status are one choice set (marketplace.moderation).
        "ModerationStatusEnum": "marketplace.moderation.Moderation",
        # A price book item's kind (its items, template lines and their inputs): one choice set.
        "PriceBookItemKindEnum": "quotes.models.PriceBookItem.Kind",
    },
}

# --- Kafka and the event backbone -------------------------------------------------
# Everything the backbone needs is read here; marketplace.events.kafka builds the
# client configurations from it (one factory, no test branches).
KAFKA: dict[str, Any] = {
    "BOOTSTRAP_SERVERS": env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
    "CLIENT_ID": env("KAFKA_CLIENT_ID", "marketplace"),
    "SECURITY_PROTOCOL": env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
    "SASL_MECHANISM": env("KAFKA_SASL_MECHANISM", ""),
    "SASL_USERNAME": env("KAFKA_SASL_USERNAME", ""),
    "SASL_PASSWORD": env("KAFKA_SASL_PASSWORD", ""),
    "SSL_CA_LOCATION": env("KAFKA_SSL_CA_LOCATION", ""),
    # Within the broker's group.min/max.session.timeout.ms (6 s to 30 min by default).  Development uses the
    # minimum, so a killed consumer's partitions move within seconds; production keeps Kafka's default.
    "SESSION_TIMEOUT_MS": env_int("KAFKA_SESSION_TIMEOUT_MS", 6000 if DEBUG else 45000),
    "REPLICATION_FACTOR": env_int("KAFKA_REPLICATION_FACTOR", 1 if DEBUG else 3),
    "MIN_INSYNC_REPLICAS": env_int("KAFKA_MIN_INSYNC_REPLICAS", 1 if DEBUG else 2),
    # Prepended to every declared topic's name on the broker (topics.kafka_topic): lets several environments
    # or test runs share one cluster.  Empty by default.
    "TOPIC_PREFIX": env("KAFKA_TOPIC_PREFIX", ""),
    # Static membership (KIP-345): a stable id per consumer process (pod name, Procfile process name).  A restarted
    # member with the same id takes its partitions back without a rebalance; empty means dynamic membership.
    "GROUP_INSTANCE_ID": env("KAFKA_GROUP_INSTANCE_ID", ""),
    # Incremental (cooperative) rebalancing by default.  A group that ran an eager assignor moves to this one in two
    # rolling restarts: first with "range,cooperative-sticky", then with "cooperative-sticky" alone.
    "ASSIGNMENT_STRATEGY": env("KAFKA_ASSIGNMENT_STRATEGY", "cooperative-sticky"),
    # A Kafka fetch returns as soon as data arrives (fetch.min.bytes 1), so the longest wait costs no latency;
    # librdkafka's default (500 ms) only bounds how long an idle fetch is held.
    "FETCH_WAIT_MAX_MS": env_int("KAFKA_FETCH_WAIT_MAX_MS", 500),
    # Consumer runners commit stored offsets this often (and on close), not per batch (runner.py).
    "COMMIT_INTERVAL_MS": env_int("KAFKA_COMMIT_INTERVAL_MS", 1000),
    "GROUP_PREFIX": env("KAFKA_GROUP_PREFIX", "marketplace"),
}
# Read-model consumers run at a lower CPU priority than the live ones (ConsumerSpec.niceness), so that on a
# busy machine a lead, a chat message or a position is pushed first and a dashboard or timeline waits.
CONSUMER_PRIORITIES = env_bool("CONSUMER_PRIORITIES", True)
OUTBOX: dict[str, Any] = {
    # How long published rows are kept: they allow re-publication after a broker loss.
    "RETENTION_HOURS": env_int("OUTBOX_RETENTION_HOURS", 24 * 7),
    # Rows per fetch -> produce -> acks -> mark cycle: 2,000 keeps the relay ahead of 2,500 events/s (bench/pipeline.py).
    "BATCH_SIZE": env_int("OUTBOX_BATCH_SIZE", 2000),
    # The relay wakes on LISTEN/NOTIFY; this is the fallback poll.
    "POLL_INTERVAL_S": float(env("OUTBOX_POLL_INTERVAL_S", "1.0")),
}
CONSUMERS: dict[str, Any] = {
    # Up to this many messages per transaction; at 2,000 a lagging consumer amortises its per-batch waits (commit,
    # offset commit, pushes) enough to catch up at 2,500 events/s (bench/pipeline.py). A quiet one takes what is there.
    "BATCH_SIZE": env_int("CONSUMER_BATCH_SIZE", 2000),
    "MAX_ATTEMPTS": env_int("CONSUMER_MAX_ATTEMPTS", 3),  # per message, before it is dead-lettered
    "BACKOFF_BASE_S": float(env("CONSUMER_BACKOFF_BASE_S", "0.2")),
    "BACKOFF_MAX_S": float(env("CONSUMER_BACKOFF_MAX_S", "30")),
    # A consumer that dead-letters more than this many messages in the window stops
    # (non-zero exit) instead of dumping a whole topic after a bad deploy.
    "DLQ_LIMIT": env_int("CONSUMER_DLQ_LIMIT", 50),
    "DLQ_LIMIT_WINDOW_S": env_int("CONSUMER_DLQ_LIMIT_WINDOW_S", 60),
}

# --- Moderation of public text (marketplace/moderation.py) ---------------------------
# Words that keep a public text (a job title on the home page) off public listings until staff approve it:
# whole words, any case. MODERATION_BAD_WORDS (comma-separated) replaces the list.
MODERATION: dict[str, Any] = {
    "BAD_WORDS": env_list(
        "MODERATION_BAD_WORDS",
        "fuck,fucking,fucker,shit,shite,bullshit,cunt,twat,wanker,bastard,bollocks,prick,dickhead,arsehole,asshole,"
        "slut,whore,motherfucker,nigger,faggot,retard,spastic",
    ),
    # Open reports on one review, reply or profile that take it off public pages until staff decide.
    "REPORT_THRESHOLD": env_int("MODERATION_REPORT_THRESHOLD", 3),
}

# --- Jobs and matching ---------------------------------------------------------------
JOBS: dict[str, Any] = {
    "EXPIRE_AFTER_HOURS": env_int("JOB_EXPIRE_AFTER_HOURS", 14 * 24),
    "MAX_PHOTOS": env_int("JOB_MAX_PHOTOS", 5),
    "MAX_PHOTO_BYTES": env_int("JOB_MAX_PHOTO_BYTES", 5 * 1024 * 1024),
    # The longest answer to a trade question asked as short text (jobs/questions.py).
    "ANSWER_TEXT_MAX_CHARS": env_int("JOB_ANSWER_TEXT_MAX_CHARS", 200),
    # Photos are re-encoded on upload (metadata dropped) at most this many pixels on their longer side,
    # with a thumbnail this many pixels wide; a tradesperson's portfolio holds at most this many photos.
    "PHOTO_MAX_SIDE": env_int("PHOTO_MAX_SIDE", 2560),
    "PHOTO_THUMB_WIDTH": env_int("PHOTO_THUMB_WIDTH", 400),
    "MAX_PORTFOLIO_PHOTOS": env_int("PORTFOLIO_MAX_PHOTOS", 12),
}
MATCHING: dict[str, Any] = {
    # How many tradespeople one matching round offers a job to (fair competition).
    "LEADS_PER_ROUND": env_int("MATCH_LEADS_PER_ROUND", 5),
    # At most this many live (not withdrawn) leads per job, over every round and re-match.
    "LEADS_PER_JOB": env_int("MATCH_LEADS_PER_JOB", 15),
    # No bid after this long: matching widens (next radius factor) and the customer is told.
    "WIDEN_AFTER_MINUTES": env_int("MATCH_WIDEN_AFTER_MINUTES", 60),
    "RADIUS_FACTORS": [1.0, 1.5, 2.0],
    # "Request a quote from this pro": how long the chosen tradesperson has the job to themselves
    # before, without a bid or after declining, matching invites others.
    "DIRECT_REQUEST_EXCLUSIVE_MINUTES": env_int("DIRECT_REQUEST_EXCLUSIVE_MINUTES", 120),
}
# --- Availability pages and calendar feeds (scheduling/views.py, scheduling/feeds.py) ----------
AVAILABILITY: dict[str, Any] = {
    "MAX_TRAVEL_BUFFER_MINUTES": env_int("AVAILABILITY_MAX_TRAVEL_BUFFER_MINUTES", 240),  # the page and services refuse more
    # A worker's calendar feed lists appointments that started at most this many days ago, up to this many days ahead.
    "FEED_PAST_DAYS": env_int("CALENDAR_FEED_PAST_DAYS", 30),
    "FEED_AHEAD_DAYS": env_int("CALENDAR_FEED_AHEAD_DAYS", 365),
}
# --- Places (jobs/places.py): UK postcode districts -------------------------------------
# The offline default answers from the packaged ONS data (jobs/data/); nothing is fetched.
# In production "jobs.places.PostcodesIoGeocoder" asks GEOCODER_URL (postcodes.io or a
# self-hosted copy) and falls back to the offline data on a timeout or an error.
GEOCODER = env("GEOCODER", "jobs.places.OfflineGeocoder")
GEOCODER_URL = env("GEOCODER_URL", "https://api.postcodes.io")
GEOCODER_TIMEOUT_S = float(env("GEOCODER_TIMEOUT_S", "2"))
# --- The pro directory (directory/): how /pros/ ranks tradespeople (directory/ranking.py documents the score) ---
DIRECTORY: dict[str, Any] = {
    "PAGE_SIZE": env_int("DIRECTORY_PAGE_SIZE", 10),
    # Weights of the score's four parts (they add up to 1).
    "WEIGHTS": {"rating": 0.40, "distance": 0.25, "response": 0.20, "badges": 0.15},
    "PRIOR_RATING": 4.0,  # a rating is shrunk towards this, as if the pro had PRIOR_REVIEWS reviews of it more
    "PRIOR_REVIEWS": 3,
    "DISTANCE_SCALE_KM": 30.0,  # closeness falls from 1 at the postcode to 0 this far away
    "SLOW_RESPONSE_MINUTES": 240.0,  # response speed falls from 1 (instant) to 0 at this mean time from lead to bid
    "BADGES_FOR_FULL_MARKS": 2,  # verified, unexpired credentials that earn the whole badge part
}
# --- Tracking (tracking/): GPS pings, ETA, geofence arrival ------------------------------
# UK GDPR retention (marketplace/privacy): rows past these ages are purged by the clock and `manage.py purge_expired`,
# in batches of PURGE_BATCH.  The README's *Privacy* section says why each period is what it is.
PRIVACY: dict[str, Any] = {
    "INBOX_RETENTION_DAYS": env_int("PRIVACY_INBOX_RETENTION_DAYS", 30),  # consumer inbox (ProcessedEvent): redelivery window
    "NOTIFICATION_RETENTION_DAYS": env_int("PRIVACY_NOTIFICATION_RETENTION_DAYS", 180),  # the bell, with its email/SMS deliveries
    "AUDIT_RETENTION_DAYS": env_int("PRIVACY_AUDIT_RETENTION_DAYS", 6 * 365 + 2),  # 6 years: disputes, HMRC records
    "PURGE_BATCH": env_int("PRIVACY_PURGE_BATCH", 1000),
    "PURGE_EVERY_S": env_int("PRIVACY_PURGE_EVERY_S", 3600),
}

TRACKING: dict[str, Any] = {
    "GEOFENCE_RADIUS_M": env_int("TRACKING_GEOFENCE_RADIUS_M", 150),  # a ping this close to the job means "arrived"
    "PING_RETENTION_HOURS": env_int("TRACKING_PING_RETENTION_HOURS", 24),  # trail points older than this are purged
    "RATE_LIMIT_PER_MINUTE": env_int("TRACKING_RATE_LIMIT_PER_MINUTE", 120),  # pings per worker per minute
    "MAX_PING_AGE_S": env_int("TRACKING_MAX_PING_AGE_S", 600),  # recorded_at at most this far in the past...
    "MAX_PING_FUTURE_S": env_int("TRACKING_MAX_PING_FUTURE_S", 60),  # ...or this far ahead (device clock skew)
    "DRIFT_TOLERANCE_MINUTES": env_int("TRACKING_DRIFT_TOLERANCE_MINUTES", 15),  # ETA past start + this: running late
}
# --- Routes (scheduling/route.py): a worker's day in travel order, and the order that cuts travel ---
# Travel between two jobs: straight-line km x ROAD_FACTOR at SPEED_KMH, rounded up to ROUNDING_MINUTES (also the dispatch
# board's "too little time to travel" flag).  Up to EXACT_MAX_STOPS stops a day are ordered exactly, more by 2-opt.
ROUTE: dict[str, Any] = {
    "ROAD_FACTOR": float(env("ROUTE_ROAD_FACTOR", "1.3")),  # the usual urban detour index: road km per straight-line km
    "SPEED_KMH": float(env("ROUTE_SPEED_KMH", "30")),  # an urban average including traffic and parking
    "ROUNDING_MINUTES": env_int("ROUTE_ROUNDING_MINUTES", 5),
    "EXACT_MAX_STOPS": env_int("ROUTE_EXACT_MAX_STOPS", 8),  # 8! = 40,320 orders at most, pruned: milliseconds
}
# --- Quotes, pricing and payments ---------------------------------------------------------
# The marketplace's terms, read by the one pricing engine (quotes/pricing.py via quotes/terms.py).
PRICING: dict[str, Any] = {
    "CURRENCY": env("PRICING_CURRENCY", "GBP"),  # ISO 4217: every amount shown (server and JS) uses it
    "LOCALE": env("PRICING_LOCALE", "en_GB"),  # how amounts are written ("£1,234.50"; "de_DE": "1.234,50 €")
    "PLATFORM_FEE_RATE": env("PRICING_PLATFORM_FEE_RATE", "0.10"),  # the marketplace's margin on the net price
    "TAX_RATE": env("PRICING_TAX_RATE", "0.20"),  # VAT on the net price
    "DEPOSIT_PERCENT": env("PRICING_DEPOSIT_PERCENT", "20"),  # of the total, authorised on acceptance
    "MAX_LINE_ITEMS": env_int("PRICING_MAX_LINE_ITEMS", 30),  # per option
    "MAX_OPTIONS": 3,  # good / better / best
    "MAX_AMOUNT": env("PRICING_MAX_AMOUNT", "100000"),  # largest line or total, pounds
    "QUOTE_VALID_DAYS": env_int("QUOTE_VALID_DAYS", 14),  # default validity of a new quote version
}
PAYMENTS: dict[str, Any] = {
    # SIMULATED by default: no real money moves. A real adapter implements payments.gateway.PaymentGateway.
    "GATEWAY": env("PAYMENTS_GATEWAY", "gateway_simulator.gateway.DatabaseSimulatedGateway"),
    "WEBHOOK_SECRET": env("PAYMENTS_WEBHOOK_SECRET", "dev-only-webhook-secret-change-me" if DEBUG else ""),
    "WEBHOOK_TOLERANCE_S": env_int("PAYMENTS_WEBHOOK_TOLERANCE_S", 300),
    # Cancellation policy (payments/cancellation.py): free within this many minutes of accepting...
    "FREE_CANCELLATION_MINUTES": env_int("PAYMENTS_FREE_CANCELLATION_MINUTES", 5),
    # ...otherwise a fee when cancelling this close to the appointment (a share of the deposit).
    "LATE_CANCELLATION_HOURS": env_int("PAYMENTS_LATE_CANCELLATION_HOURS", 24),
    "LATE_CANCELLATION_FEE_PERCENT": env("PAYMENTS_LATE_CANCELLATION_FEE_PERCENT", "50"),
    # No-shows: a tradesperson not arrived (geofence) this long after the start lets the customer cancel free...
    "PRO_NO_SHOW_MINUTES": env_int("PAYMENTS_PRO_NO_SHOW_MINUTES", 30),
    # ...and a tradesperson on site this long without the customer may cancel with a call-out fee (pounds, at most the deposit).
    "CUSTOMER_NO_SHOW_WAIT_MINUTES": env_int("PAYMENTS_CUSTOMER_NO_SHOW_WAIT_MINUTES", 15),
    "CALL_OUT_FEE": env("PAYMENTS_CALL_OUT_FEE", "30.00"),
    # Sign-off (payments/approval.py): the customer approves or reports a problem within this many hours of
    # completion; silence approves. The balance is charged on approval.
    "APPROVAL_WINDOW_HOURS": env_int("PAYMENTS_APPROVAL_WINDOW_HOURS", 48),
    # A tip is at most this share of the price and at most this many pounds.
    "TIP_MAX_PERCENT": env("PAYMENTS_TIP_MAX_PERCENT", "50"),
    "TIP_MAX": env("PAYMENTS_TIP_MAX", "500"),
    # The payments executor (manage.py payments_executor) makes the gateway calls the services only record as intents.
    # A claimed operation is its executor's for this long; past it, another executor retries with the same key.
    "EXECUTOR_LEASE_S": env_int("PAYMENTS_EXECUTOR_LEASE_S", 120),
    # After an outage: retry in 1 s, 2 s, 4 s... up to this (same idempotency key each time).
    "EXECUTOR_BACKOFF_MAX_S": env_int("PAYMENTS_EXECUTOR_BACKOFF_MAX_S", 60),
    # It wakes on a Postgres NOTIFY when an intent commits; this poll is the fallback (and picks up retries).
    "EXECUTOR_POLL_S": float(env("PAYMENTS_EXECUTOR_POLL_S", "1")),
    # Gateway calls in flight at once per executor process (a slow call never delays the others).
    "EXECUTOR_CONCURRENCY": env_int("PAYMENTS_EXECUTOR_CONCURRENCY", 4),
    # What people read for a gateway's code (payments.Payment.gateway) on invoices and receipts.
    "GATEWAY_DISPLAY_NAMES": {
        "simulated": "TradeLink's simulated card processor (a test mode: no real money moves)",
    },
}
# --- Payouts to tradespeople (payments/payouts.py): what each is owed, paid in runs by the clock ---
PAYOUTS: dict[str, Any] = {
    # SIMULATED by default: no money moves. A real adapter implements payments.payout_provider.PayoutProvider.
    "PROVIDER": env("PAYOUTS_PROVIDER", "payments.payout_simulator.SimulatedPayoutProvider"),
    "RUN_EVERY_S": env_int("PAYOUTS_RUN_EVERY_S", 24 * 60 * 60),  # how often the clock groups what is owed into payouts
    "POLL_EVERY_S": env_int("PAYOUTS_POLL_EVERY_S", 60),  # how often it asks the provider about payouts on their way
    "MINIMUM": env("PAYOUTS_MINIMUM", "10.00"),  # a balance below this waits for the next run
    # The simulated provider: a payout is in transit after this long, and arrives (or fails) after this long.
    "SIMULATOR_IN_TRANSIT_AFTER_S": env_int("PAYOUTS_SIMULATOR_IN_TRANSIT_AFTER_S", 60),
    "SIMULATOR_ARRIVE_AFTER_S": env_int("PAYOUTS_SIMULATOR_ARRIVE_AFTER_S", 300),
    # Payout accounts (acct_<user id>) the simulated bank rejects, comma-separated: to try a failed payout.
    "SIMULATOR_FAILING_ACCOUNTS": [a.strip() for a in env("PAYOUTS_SIMULATOR_FAILING_ACCOUNTS", "").split(",") if a.strip()],
}
# --- Service plans (quotes/agreements.py): recurring work such as an annual boiler service ---------
SERVICE_PLANS: dict[str, Any] = {
    # The clock books each visit this many days before it is due (the job, the quote, a free slot near the date).
    "LEAD_DAYS": env_int("SERVICE_PLAN_LEAD_DAYS", 21),
    # A plan repeats every 1 to this many months; a business offers 12 unless it says otherwise.
    "MAX_INTERVAL_MONTHS": env_int("SERVICE_PLAN_MAX_INTERVAL_MONTHS", 36),
    "DEFAULT_INTERVAL_MONTHS": env_int("SERVICE_PLAN_DEFAULT_INTERVAL_MONTHS", 12),
    # A visit whose booking was interrupted (a crash between posting the job and holding the deposit) is retried
    # by the clock once it is this old, so two clocks never book one visit at the same moment.
    "RETRY_AFTER_S": env_int("SERVICE_PLAN_RETRY_AFTER_S", 120),
}
# --- Invoices (quotes/invoicing.py) ---------------------------------------------------------------
INVOICES: dict[str, Any] = {
    # Each business's invoices are numbered <PREFIX><business id>-<n>, n counting 1, 2, 3 ... without gaps.
    "NUMBER_PREFIX": env("INVOICE_NUMBER_PREFIX", "TL"),
    # The TrueType font embedded in PDFs (so £, accents and names print); Helvetica when missing.
    "PDF_FONT": env("INVOICE_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "PDF_FONT_BOLD": env("INVOICE_PDF_FONT_BOLD", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    # Emailing an issued invoice: attempts and the first retry's wait (doubled each time).
    "EMAIL_MAX_ATTEMPTS": env_int("INVOICE_EMAIL_MAX_ATTEMPTS", 6),
    "EMAIL_RETRY_BASE_S": env_int("INVOICE_EMAIL_RETRY_BASE_S", 60),
    "EMAIL_CLAIM_LEASE_S": env_int("INVOICE_EMAIL_CLAIM_LEASE_S", 300),
}
# --- Staff alerts (alerts/): moments that need a human, in the admin inbox and an incoming webhook ---
STAFF_ALERTS: dict[str, Any] = {
    "NO_BIDS_AFTER_MINUTES": env_int("STAFF_ALERT_NO_BIDS_AFTER_MINUTES", 120),  # an open job nobody bid on this long
    "LATE_MINUTES": env_int("STAFF_ALERT_LATE_MINUTES", 15),  # a tradesperson this far past the appointment start
    "CANCELLATION_FLOOD_COUNT": env_int("STAFF_ALERT_CANCELLATION_FLOOD_COUNT", 5),  # this many cancellations...
    "CANCELLATION_FLOOD_MINUTES": env_int("STAFF_ALERT_CANCELLATION_FLOOD_MINUTES", 15),  # ...in one window this long
    "LOOKBACK_HOURS": env_int("STAFF_ALERT_LOOKBACK_HOURS", 48),  # the clock's time-based rules ignore older jobs
    # Slack-compatible incoming webhook ({"text", "blocks"}); empty: the admin inbox only.
    "WEBHOOK_URL": env("STAFF_ALERT_WEBHOOK_URL", ""),
    "WEBHOOK_MIN_SEVERITY": env("STAFF_ALERT_WEBHOOK_MIN_SEVERITY", "info"),  # info, warning or critical
    "WEBHOOK_TIMEOUT_S": float(env("STAFF_ALERT_WEBHOOK_TIMEOUT_S", "5")),
    "WEBHOOK_MAX_ATTEMPTS": env_int("STAFF_ALERT_WEBHOOK_MAX_ATTEMPTS", 6),
    "WEBHOOK_RETRY_BASE_S": env_int("STAFF_ALERT_WEBHOOK_RETRY_BASE_S", 30),  # doubled after each failure
    "WEBHOOK_CLAIM_LEASE_S": env_int("STAFF_ALERT_WEBHOOK_CLAIM_LEASE_S", 300),
}
# --- Insights (insights/): streaming aggregates for the dashboards ------------------------
INSIGHTS: dict[str, Any] = {
    "ON_TIME_GRACE_MINUTES": env_int("INSIGHTS_ON_TIME_GRACE_MINUTES", 5),  # arriving this long after the start is still on time
    "EARLY_GRACE_MINUTES": env_int("INSIGHTS_EARLY_GRACE_MINUTES", 15),  # ...and this long before it; earlier counts as early
    "PUSH_MIN_INTERVAL_S": float(env("INSIGHTS_PUSH_MIN_INTERVAL_S", "2")),  # at most one push per dashboard stream this often
}
# The clock process (manage.py clock) runs expiry and widening this often.
CLOCK_INTERVAL_S = float(env("CLOCK_INTERVAL_S", "30"))

# Rate limits (marketplace/ratelimit.py): scope -> (at most this many, per this many seconds).
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "job_post": (env_int("RATE_JOB_POSTS_PER_HOUR", 30), 3600),  # per customer
    "bid": (env_int("RATE_BIDS_PER_HOUR", 200), 3600),  # per tradesperson (placing; revisions are not counted)
    "login": (env_int("RATE_LOGINS_PER_5_MIN", 10), 300),  # per (address, username), pages and API token
    "report": (env_int("RATE_REPORTS_PER_HOUR", 10), 3600),  # per signed-in user, or per address when anonymous
}
RATE_LIMIT_NAMESPACE = env("RATE_LIMIT_NAMESPACE", "")  # separates counters of stacks sharing one Redis (tests)

# /metrics (Prometheus): from these addresses, or with "Authorization: Bearer $METRICS_TOKEN".
METRICS: dict[str, Any] = {
    "ALLOWED_IPS": [ip.strip() for ip in env("METRICS_ALLOWED_IPS", "127.0.0.1,::1").split(",") if ip.strip()],
    "TOKEN": env("METRICS_TOKEN", ""),
    "LAG_CACHE_S": float(env("METRICS_LAG_CACHE_S", "10")),
}
# Health (marketplace/ops/health.py, heartbeat.py, probe.py): /readyz answers for the database only; the relay,
# consumers, payments executor and clock write a heartbeat file that `python -m marketplace.ops.probe NAME` reads.
HEALTH: dict[str, Any] = {
    # Where the heartbeat files go (the probe reads $HEALTH_DIR, with the same default).
    "DIR": env("HEALTH_DIR", str(BASE_DIR / "var" / "health")),
    # A heartbeat older than this means the loop is stuck.  Above the longest wait of a live loop: the relay's
    # delivery reports (15 s message timeout) plus its 10 s backoff.
    "STALE_AFTER_S": float(env("HEALTH_STALE_AFTER_S", "60")),
    "BEAT_EVERY_S": float(env("HEALTH_BEAT_EVERY_S", "1")),
    # A consumer out of its group this long while the broker answers is "lost-group" (its probe fails):
    # two session timeouts, so an ordinary rebalance or a restart of the group coordinator never trips it.
    "GROUP_LOST_AFTER_S": float(env("HEALTH_GROUP_LOST_AFTER_S", str(2 * KAFKA["SESSION_TIMEOUT_MS"] / 1000))),
    # Each informational check of /healthz/deps (Redis, Kafka) gives up after this long.
    "DEPENDENCY_TIMEOUT_S": float(env("HEALTH_DEPENDENCY_TIMEOUT_S", "2")),
}
# Alert thresholds shown on /admin/backbone/ (marketplace/ops/backbone.py): (amber at, red at).
BACKBONE_ALERTS: dict[str, tuple[float, float]] = {
    "CONSUMER_LAG": (env_int("ALERT_LAG_AMBER", 100), env_int("ALERT_LAG_RED", 1000)),  # messages behind, per group
    "OUTBOX_BACKLOG": (env_int("ALERT_BACKLOG_AMBER", 100), env_int("ALERT_BACKLOG_RED", 1000)),  # unpublished rows
    "OUTBOX_AGE_S": (env_int("ALERT_BACKLOG_AGE_AMBER_S", 30), env_int("ALERT_BACKLOG_AGE_RED_S", 300)),  # oldest unpublished
    "DEAD_LETTERS": (env_int("ALERT_DEAD_LETTERS_AMBER", 1), env_int("ALERT_DEAD_LETTERS_RED", 10)),  # pending
}


# Paging on the backbone (alerts/backbone.py, run by the clock): per figure, a staff alert is raised at
# a level (warning, critical) once the figure has stayed at or above it for FOR_S, and resolved only when
# it falls below the clear level, lower than the raise level (hysteresis: a figure hovering around a
# threshold pages once).  Each pair is "warning,critical"; the webhook hears of raise, escalation, resolve.
def env_pair(name: str, default: tuple[int, int]) -> tuple[float, float]:
    parts = env_list(name, f"{default[0]},{default[1]}")
    if len(parts) != 2:
        raise ImproperlyConfigured(f"{name} must be two numbers, warning,critical; got {parts!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be two numbers, warning,critical; got {parts!r}") from exc


BACKBONE_PAGING: dict[str, Any] = {
    "FOR_S": env_int("PAGE_BACKBONE_FOR_S", 120),  # a figure must stay at a raise level this long before it pages
    "DEAD_LETTER_WINDOW_S": env_int("PAGE_DEAD_LETTER_WINDOW_S", 900),  # dead-letter growth: new ones in this window
    "FIGURES": {
        # messages behind, per consumer group (one alert per group)
        "CONSUMER_LAG": {"raise": env_pair("PAGE_LAG_RAISE", (1000, 10000)), "clear": env_pair("PAGE_LAG_CLEAR", (200, 2000))},
        # seconds the oldest unpublished outbox row has waited
        "OUTBOX_AGE_S": {"raise": env_pair("PAGE_OUTBOX_AGE_RAISE_S", (60, 300)), "clear": env_pair("PAGE_OUTBOX_AGE_CLEAR_S", (15, 60))},
        # dead letters recorded in the last DEAD_LETTER_WINDOW_S
        "DEAD_LETTER_GROWTH": {
            "raise": env_pair("PAGE_DEAD_LETTERS_RAISE", (5, 50)),
            "clear": env_pair("PAGE_DEAD_LETTERS_CLEAR", (1, 10)),
        },
        # seconds rows have waited while the relay published nothing at all
        "RELAY_STALLED_S": {
            "raise": env_pair("PAGE_RELAY_STALLED_RAISE_S", (60, 300)),
            "clear": env_pair("PAGE_RELAY_STALLED_CLEAR_S", (5, 5)),
        },
    },
}
# --- Notifications: email and SMS channels (marketplace/notifications) ---------------------
# Development prints mail to the console; tests use locmem (pytest-django); production sets SMTP.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Marketplace <no-reply@marketplace.localhost>")
# A dotted path to a marketplace.notifications.sms.BaseSmsBackend; console by default (nothing is sent).
SMS_BACKEND = env("SMS_BACKEND", "marketplace.notifications.sms.ConsoleSmsBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))  # FileSmsBackend writes one file per message here
SMS_FROM = env("SMS_FROM", "Marketplace")
NOTIFICATIONS: dict[str, Any] = {
    # Absolute links in emails and texts.
    "SITE_URL": env("SITE_URL", "http://localhost:8000"),
    # Kinds in the "important" category: texts are on by default for these.
    "IMPORTANT_KINDS": env_list(
        "NOTIFICATIONS_IMPORTANT_KINDS",
        "appointment_reminder,payment_failed,appointment_cancelled,appointment_rescheduled,appointment_flagged,job_won,eta_drift",
    ),
    # A failed send is retried (manage.py send_pending_notifications, run by the clock) this many times.
    "MAX_ATTEMPTS": env_int("NOTIFICATIONS_MAX_ATTEMPTS", 5),
    "RETRY_BASE_S": env_int("NOTIFICATIONS_RETRY_BASE_S", 60),
    # A send claimed longer ago than this without finishing (the process died) is retried.
    "CLAIM_LEASE_S": env_int("NOTIFICATIONS_CLAIM_LEASE_S", 600),
    # Who sends email/SMS (marketplace/notifications/outgoing.py): "worker", the `deliveries` process woken by each
    # commit, so a slow provider never holds up a request or a consumer's batch; "after_commit", the committing
    # process right after its commit (the in-process tests).
    "DELIVERY": env("NOTIFICATIONS_DELIVERY", "worker"),
    # The worker also sends whatever is due this often (a wake-up lost while it was down waits at most this long).
    "WORKER_POLL_S": float(env("NOTIFICATIONS_WORKER_POLL_S", "5")),
}
# Texts people send us (marketplace/notifications/inbound.py): POST /webhooks/sms/<provider>/.  The adapter's
# name is the <provider>; the default is the SIMULATED provider (manage.py sms_inbound, /dev/sms/ in DEBUG).
SMS_INBOUND_ADAPTER = env("SMS_INBOUND_ADAPTER", "marketplace.notifications.inbound.SimulatedInboundAdapter")
SMS_INBOUND: dict[str, Any] = {
    # Signs the simulated provider's requests (HMAC-SHA256); empty refuses every request.
    "SECRET": env("SMS_INBOUND_SECRET", "dev-only-sms-inbound-secret-change-me" if DEBUG else ""),
    # A signature older (or newer) than this is refused: a captured request cannot be replayed later.
    "TOLERANCE_S": env_int("SMS_INBOUND_TOLERANCE_S", 300),
    "TWILIO_AUTH_TOKEN": env("SMS_INBOUND_TWILIO_AUTH_TOKEN", ""),
    # What a reminder's text adds, and the answer to a text we do not understand (the link is appended).
    "REMINDER_HINT": "Reply C to confirm or R to ask for another time.",
    "HELP_TEXT": "Sorry, we didn't understand. Reply C to confirm your next appointment or R to ask for another time, or open",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# How long a process waits for Postgres/Kafka at start-up before exiting non-zero.
STARTUP_WAIT_S = float(env("STARTUP_WAIT_S", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object per line with the correlation id (marketplace/logging.py); LOG_FORMAT=plain for a terminal.
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        "json": {"()": "marketplace.logging.JsonFormatter"},
    },
    "filters": {"correlation": {"()": "marketplace.logging.CorrelationFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env("LOG_FORMAT", "json"), "filters": ["correlation"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},  # fpdf2 subsets the invoice font; its INFO lines are noise
        "marketplace.events.trace": {"level": env("LOG_EVENTS", "INFO")},
    },
}

# Security settings that matter once DEBUG is off (checked by `check --deploy`).
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Trust X-Forwarded-Proto only behind a proxy that overwrites it (opt-in).
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from our own static files, so an injected
# <script> or onclick= does not run.  No inline script anywhere (tests/test_csp.py checks the
# templates); data for scripts travels in data- attributes or json_script.  Inline styles stay
# allowed: several templates carry a <style> block and style= attributes, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],  # CSP3: 'self' includes ws:/wss: to this host (the live socket)
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Development serves static files straight from the app folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# The dispatch board: how long a job from the unassigned queue is booked for when the dispatcher drops it without
# saying (the card shows it; the Move form takes another length).
DISPATCH_DEFAULT_JOB_MINUTES = env_int("DISPATCH_DEFAULT_JOB_MINUTES", 120)
