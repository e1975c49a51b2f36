"""Settings of CHU Portal, read from the environment with embedded defaults (see README)."""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------

# Production is the default: DEBUG is on only when set (the README's run command sets it itself).
DEBUG = env_bool("DEBUG", False)
# A key published in this repository: used only in DEBUG, refused in production (docs/security.md).
_DEV_SECRET_KEY = "dev-only-not-secret-chu-portal-embedded-mode-key-0123456789abcdef"


def weak_secret_key(key: str) -> str:
    """Why `key` may not sign production sessions and reset links ("" when it may)."""
    if not key:
        return "SECRET_KEY must be set when DEBUG is off (production mode)."
    if key == _DEV_SECRET_KEY or key.startswith("django-insecure-"):
        return "SECRET_KEY is a published development key: set your own when DEBUG is off."
    if len(key) < 50 or len(set(key)) < 5:
        return "SECRET_KEY is weak (fewer than 50 characters or 5 distinct ones): set a random key of 50+ characters."
    return ""


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not DEBUG and (problem := weak_secret_key(SECRET_KEY)):
    raise ImproperlyConfigured(problem)
if not SECRET_KEY:
    SECRET_KEY = _DEV_SECRET_KEY
# True only with the published development key (DEBUG at start-up): `seed_demo --force` needs it.
SECRET_KEY_IS_DEVELOPMENT = SECRET_KEY == _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "chu_portal",
    "audit",
    "accounts",
    "records",
    "dmp",
    "record_requests",
    "fhir",
    "demo",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuses a body past the upload limit before anything reads it (chu_portal/uploads.py).
    "chu_portal.uploads.UploadLimitMiddleware",
    "csp.middleware.CSPMiddleware",
    "chu_portal.middleware.PermissionsPolicyMiddleware",
    "chu_portal.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    # A page view raises AccessDenied or ServiceError; this answers the refusal page (not the API).
    "chu_portal.refusals.RefusalMiddleware",
    # Last, as django-axes asks: it turns lockouts into responses.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Production serves collected static files itself (runserver serves them in DEBUG).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "chu_portal.urls"
WSGI_APPLICATION = "chu_portal.wsgi.application"
ASGI_APPLICATION = "chu_portal.asgi.application"

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
                "django.template.context_processors.i18n",
                "records.context_processors.emergency_banner",
                "dmp.context_processors.emergency",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite serialises writers; a busy timeout avoids "database is locked" under runserver.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
# Retention of traces deletes through its own connection, whose role may DELETE on trace tables
# (docs/architecture.md, "The audit trail and sealing"); nothing else uses this alias. In DEBUG it defaults to DATABASE_URL.
AUDIT_MAINTENANCE_DATABASE_URL = os.environ.get("AUDIT_MAINTENANCE_DATABASE_URL", "")
if AUDIT_MAINTENANCE_DATABASE_URL or DEBUG:
    DATABASES["audit_maintenance"] = dj_database_url.parse(
        AUDIT_MAINTENANCE_DATABASE_URL or DATABASE_URL, conn_max_age=0
    )
    DATABASES["audit_maintenance"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# django-guardian: no anonymous object permissions (and no "AnonymousUser" account row).
ANONYMOUS_USER_NAME = None
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Internationalisation ---------------------------------------------------------------------

# French first; English is the second language (the footer's switch, or the browser's preference).
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Documents are never served from MEDIA_URL: only through permission-checked, audited views.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))


def default_storage_config(environ) -> dict:
    """STORAGES["default"] from the environment: the local filesystem (MEDIA_ROOT) unless STORAGE_BACKEND=s3, an
    S3-compatible object store through django-storages (docs/scaling.md, "Document files on an object store").

    Credentials are never settings: boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an instance role,
    a web identity...) from the environment itself. The bucket must be private: no file is ever served from a
    URL of the store, only through the portal's permission-checked, traced views."""
    backend = (environ.get("STORAGE_BACKEND") or "filesystem").strip().lower()
    if backend == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if backend != "s3":
        raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'filesystem' or 's3', not {backend!r}")
    bucket = (environ.get("AWS_STORAGE_BUCKET_NAME") or "").strip()
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    options = {
        "bucket_name": bucket,
        "endpoint_url": environ.get("AWS_S3_ENDPOINT_URL") or None,
        "region_name": environ.get("AWS_S3_REGION_NAME") or None,
        "addressing_style": environ.get("AWS_S3_ADDRESSING_STYLE") or None,
        "location": (environ.get("AWS_LOCATION") or "").strip("/"),
        # As on the filesystem, a name taken is never overwritten: save() answers another name (the portal
        # stores the name save() returns). S3's default is to overwrite.
        "file_overwrite": False,
        # Never a public object, never a signed URL handed out: files leave the store only through the portal.
        "default_acl": None,
        "querystring_auth": True,
        "object_parameters": {},
    }
    encryption = (environ.get("AWS_S3_SERVER_SIDE_ENCRYPTION") or "").strip()
    if encryption:
        options["object_parameters"]["ServerSideEncryption"] = encryption
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": default_storage_config(os.environ),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Redis and Celery -------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis (the embedded mode) tasks run eagerly, in-process.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Celery's Django fixup closes the database connection around every task unless this is set: the
# connection is then reused for this many tasks (about 120 -> 450 one-row tasks/s, docs/architecture.md "Celery tasks").
# 0 means close around every task (Celery's default).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100) or None
# Publishing fails fast when the broker is down (one quick retry, 2 s to connect) instead of kombu's
# default of retrying for seconds: a signing request never waits on Redis, the outbox sweep resends.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
}
CELERY_BEAT_SCHEDULE = {
    "audit-seal": {
        "task": "audit.tasks.seal_pending_traces",
        "schedule": float(env_int("AUDIT_SEAL_INTERVAL_SECONDS", 10)),
    },
    "audit-verify": {
        "task": "audit.tasks.verify_trail",
        "schedule": float(env_int("AUDIT_VERIFY_INTERVAL_SECONDS", 86400)),
    },
}
# The DMP feed's outbox sweep: resends what is still pending (issue 5).
CELERY_BEAT_SCHEDULE["dmp-consent-requests-expire"] = {
    "task": "dmp.consent_tasks.expire_consent_requests",
    "schedule": float(env_int("DMP_GRANT_EXPIRY_INTERVAL_SECONDS", 900)),
}
CELERY_BEAT_SCHEDULE["dmp-orphan-files"] = {
    "task": "dmp.tasks.remove_orphan_files",
    "schedule": float(env_int("DMP_ORPHAN_FILE_INTERVAL_SECONDS", 86400)),
}
# Closed DMPs past their retention, or whose deletion the patient asked for, are purged (issue 19).
CELERY_BEAT_SCHEDULE["dmp-purge-closed"] = {
    "task": "dmp.tasks.purge_closed_records",
    "schedule": float(env_int("DMP_PURGE_INTERVAL_SECONDS", 86400)),
}

# Copies of the hospital record: bundles made and past the 48-hour reflection period are released, expired
# ones deleted (issue 22).
CELERY_BEAT_SCHEDULE["record-requests-sweep"] = {
    "task": "record_requests.tasks.sweep",
    "schedule": float(env_int("RECORD_REQUEST_SWEEP_INTERVAL_SECONDS", 900)),
}

# Representations past their end (majority, a court decision's end) are closed and traced (issue 21).
CELERY_BEAT_SCHEDULE["dmp-end-representations"] = {
    "task": "dmp.tasks.end_representations",
    "schedule": float(env_int("DMP_REPRESENTATION_SWEEP_INTERVAL_SECONDS", 86400)),
}

CELERY_BEAT_SCHEDULE["dmp-feed-sweep"] = {
    "task": "dmp.tasks.feed_sweep",
    "schedule": float(env_int("DMP_FEED_SWEEP_INTERVAL_SECONDS", 30)),
}
# Reports held from the patient past DMP_HOLD_REMINDER_DAYS: their author is reminded (once per document).
CELERY_BEAT_SCHEDULE["dmp-hold-reminders"] = {
    "task": "dmp.tasks.remind_held_reports",
    "schedule": float(env_int("DMP_HOLD_REMINDER_INTERVAL_SECONDS", 86400)),
}

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "chu_portal.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "chu_portal.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# OpenAPI 3 (drf-spectacular): /api/schema/, Swagger UI at /api/docs/ from the sidecar's local files.
SPECTACULAR_SETTINGS = {
    "TITLE": "CHU Portal API",
    "DESCRIPTION": "Hospital record, shared record (DMP) and traces. Contract: docs/api.md. "
    "Authenticate with `Authorization: Token <token>` from POST /api/v1/auth/token/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    # No online validator badge: the page stays offline and within img-src 'self'.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The body parser's 400/415, OpenAPI links (operations returning an id -> operations taking it) and
    # Retry-After on every 429 (rate limits, accounts/throttling.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chu_portal.schema.declare_body_errors",
        "chu_portal.schema.add_links",
        "chu_portal.schema.retry_after_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReportTypeEnum": "records.constants.ReportType",
        "StayKindEnum": "records.constants.StayKind",
        "ReportStatusEnum": ["draft", "signed", "superseded"],
        "DocumentTypeEnum": "dmp.constants.DocumentType",
        "DocumentStatusEnum": "dmp.constants.DocumentStatus",
        "RecordStatusEnum": "dmp.constants.RecordStatus",
        "ProfileKindEnum": "dmp.constants.ProfileKind",
        "DesignationKindEnum": "dmp.constants.DesignationKind",
        "DesignationStatusEnum": "dmp.constants.DesignationStatus",
        "NotificationKindEnum": "dmp.constants.NotificationKind",
        "ConsentStatusEnum": "dmp.constants.ConsentStatus",
        "OpinionStatusEnum": ["open", "answered", "closed", "expired"],
        "GrantSourceEnum": "dmp.constants.GrantSource",
        "EmergencyModeEnum": "dmp.constants.EmergencyMode",
        "WithdrawalReasonEnum": "dmp.constants.WithdrawalReason",
        "ObjectionStatusEnum": "dmp.constants.ObjectionStatus",
        "RepresentationKindEnum": "records.constants.RepresentationKind",
        "RequestStatusEnum": "record_requests.constants.RequestStatus",
        "RequesterKindEnum": "record_requests.constants.RequesterKind",
        "DeliveryEnum": "record_requests.constants.Delivery",
        "HeirReasonEnum": "record_requests.constants.HeirReason",
        "RefusalReasonEnum": "record_requests.constants.RefusalReason",
    },
}
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 8)
# FHIR: base URI of the portal's own naming and code systems (IPP, stays, trace actions, error codes).
FHIR_SYSTEM_BASE = os.environ.get("FHIR_SYSTEM_BASE", "https://chu-portal.invalid/fhir")

# --- Domain rules -----------------------------------------------------------------------------

# The INSi seam (records/ins.py): the class that retrieves an INS by traits. The default answers from the local
# registry table (the national teleservice is out of scope); a real connector would be named here.
INSI_CLIENT = os.environ.get("INSI_CLIENT", "records.ins.LocalRegistryClient")
# The unit whose staff run the medical records office (the queue of requests for a copy of the record).
RECORDS_OFFICE_UNIT_CODE = os.environ.get("RECORDS_OFFICE_UNIT_CODE", "ARCH")
# The MSSanté seam (record_requests/mailbox.py): the class that sends a copy of the hospital record to the doctor the
# requester names. The default models his secure inbox locally (/pro/messagerie/); a real MSSanté connector would be
# named here. Never through the DMP.
MSSANTE_CLIENT = os.environ.get("MSSANTE_CLIENT", "record_requests.mailbox.LocalMailbox")
# A copy of the hospital record stays downloadable this many days after its release, then is deleted.
RECORD_BUNDLE_AVAILABLE_DAYS = env_int("RECORD_BUNDLE_AVAILABLE_DAYS", 60)
# Care-team access lasts this many days after a stay's discharge.
RECORDS_RECENT_STAY_DAYS = env_int("RECORDS_RECENT_STAY_DAYS", 30)
# A consulted doctor keeps read access this many hours after the opinion request is answered or closed.
OPINION_GRACE_HOURS = env_int("OPINION_GRACE_HOURS", 48)
# An opinion request left open this many days expires (computed at check time; the grace period then runs).
OPINION_MAX_DAYS = env_int("OPINION_MAX_DAYS", 14)
# Emergency access (bris de glace) window, in hours.
EMERGENCY_ACCESS_HOURS = env_int("EMERGENCY_ACCESS_HOURS", 4)
# DMP uploads: largest accepted file, in bytes (20 MB). The request body may be this plus 256 KiB
# (chu_portal/uploads.py); past it the portal answers 413 before reading the body.
DMP_UPLOAD_MAX_BYTES = env_int("DMP_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "chu_portal.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# PDF inspection (dmp/files.py): most objects a PDF may hold, and the longest its inspection may take.
DMP_UPLOAD_PDF_MAX_OBJECTS = env_int("DMP_UPLOAD_PDF_MAX_OBJECTS", 20000)
DMP_UPLOAD_INSPECT_SECONDS = env_int("DMP_UPLOAD_INSPECT_SECONDS", 5)
# Default lifetime of a DMP authorisation (AccessGrant), in days (assumed: 1 year).
DMP_GRANT_DEFAULT_DAYS = env_int("DMP_GRANT_DEFAULT_DAYS", 365)
# Longest DMP authorisation a professional may ask for, in days (requests above it are refused).
DMP_GRANT_MAX_DAYS = env_int("DMP_GRANT_MAX_DAYS", 365)
# DMP emergency access (bris de glace, SAMU) window, in hours (defaults to the hospital record's).
DMP_EMERGENCY_ACCESS_HOURS = env_int("DMP_EMERGENCY_ACCESS_HOURS", EMERGENCY_ACCESS_HOURS)
# Lifetime of an account activation code handed by the CHU, in days.
DMP_ACTIVATION_CODE_DAYS = env_int("DMP_ACTIVATION_CODE_DAYS", 30)
# The GP's dashboard lists their patients' documents filed in the last this many days.
DMP_GP_DASHBOARD_DAYS = env_int("DMP_GP_DASHBOARD_DAYS", 30)

# The automatic feed (records -> DMP), docs/domain.md "The automatic feed": which report types are fed.
DMP_FEED_TYPES = {
    "11490-0": env_bool("DMP_FEED_DISCHARGE_LETTER", True),
    "34874-8": env_bool("DMP_FEED_OPERATIVE_REPORT", True),
    "15507-7": env_bool("DMP_FEED_EMERGENCY_VISIT", True),
    "18748-4": env_bool("DMP_FEED_IMAGING_REPORT", True),
    "11502-2": env_bool("DMP_FEED_LAB_REPORT", False),  # under study
    "11488-4": env_bool("DMP_FEED_CONSULTATION_REPORT", False),
}
# Report types fed "after the announcement consultation" by default (docs/domain.md, "Held reports"): filed at
# once, invisible to the patient until a doctor allowed to announce them releases them. The signing doctor
# chooses for each report; this is the choice offered first. Imaging and laboratory reports by default.
DMP_FEED_HOLD_TYPES = env_list("DMP_FEED_HOLD_TYPES", ["18748-4", "11502-2"])
# A report still held this many days after its filing: its author is reminded (once, by a daily beat task).
DMP_HOLD_REMINDER_DAYS = env_int("DMP_HOLD_REMINDER_DAYS", 7)
# Delivery attempts of one feed item before it is marked failed (an admin may retry it).
DMP_FEED_MAX_ATTEMPTS = env_int("DMP_FEED_MAX_ATTEMPTS", 6)
# Exponential backoff between attempts: base * 2^n seconds, capped, with full jitter.
DMP_FEED_RETRY_BACKOFF_SECONDS = env_int("DMP_FEED_RETRY_BACKOFF_SECONDS", 10)
DMP_FEED_RETRY_BACKOFF_MAX_SECONDS = env_int("DMP_FEED_RETRY_BACKOFF_MAX_SECONDS", 600)
# The sweep resends pending items whose next attempt is due and that no task touched for this long.
DMP_FEED_SWEEP_GRACE_SECONDS = env_int("DMP_FEED_SWEEP_GRACE_SECONDS", 60)
# Most items one delivery task files in one transaction (dmp/feed/delivery.py, feed_relay: the outbox relay).
# Each message takes its own item and up to this many minus one other pending items (FOR UPDATE SKIP LOCKED),
# so that workers drain the outbox in batches, side by side; 1 delivers one item per message, as before.
DMP_FEED_BATCH_SIZE = env_int("DMP_FEED_BATCH_SIZE", 50)
# Most items one sweep resends.
DMP_FEED_SWEEP_BATCH = env_int("DMP_FEED_SWEEP_BATCH", 500)
# Celery queue of the feed's deliveries; empty means Celery's default queue.
DMP_FEED_QUEUE = os.environ.get("DMP_FEED_QUEUE", "")
# A consent request left unanswered this long expires (the professional may ask again).
DMP_CONSENT_REQUEST_EXPIRY_DAYS = env_int("DMP_CONSENT_REQUEST_EXPIRY_DAYS", 30)
# Stored document files no document references are removed once this old (dmp/feed/orphans.py).
DMP_ORPHAN_FILE_GRACE_HOURS = env_int("DMP_ORPHAN_FILE_GRACE_HOURS", 24)
# A closed DMP is kept this many years, then purged by the daily beat task (CSP R.1111-36; issue 19).
DMP_CLOSED_RETENTION_YEARS = env_int("DMP_CLOSED_RETENTION_YEARS", 10)
# The patient's request to delete her closed DMP is carried out this many days later (she may reopen meanwhile).
DMP_DELETION_DELAY_DAYS = env_int("DMP_DELETION_DELAY_DAYS", 30)

# Benchmark only (bench/): route /bench/bare/, a bare JSON view, the baseline of the throughput
# benchmark. Off by default; never set it in production.
BENCH_BARE_VIEW = env_bool("BENCH_BARE_VIEW", False)

# --- Audit trail ------------------------------------------------------------------------------

# In embedded mode (no beat) sealing runs in-process after this many traces.
AUDIT_SEAL_EVERY = env_int("AUDIT_SEAL_EVERY", 100)
# Rows younger than this are not sealed where the database cannot tell finished transactions.
AUDIT_SEAL_LAG_SECONDS = env_int("AUDIT_SEAL_LAG_SECONDS", 2)
# Largest number of traces in one seal.
AUDIT_SEAL_MAX_ROWS = env_int("AUDIT_SEAL_MAX_ROWS", 5000)

# Flag rules of the DPO console (audit/flags.py); they read trace fields only.
# Refusal burst: the Nth refusal of one actor within M minutes, and each one after it.
AUDIT_FLAG_REFUSAL_BURST_COUNT = env_int("AUDIT_FLAG_REFUSAL_BURST_COUNT", 3)
AUDIT_FLAG_REFUSAL_BURST_MINUTES = env_int("AUDIT_FLAG_REFUSAL_BURST_MINUTES", 10)
# Reads outside working hours (local time, TIME_ZONE): before START or from END on; weekends too if set.
AUDIT_FLAG_WORKING_HOURS_START = env_int("AUDIT_FLAG_WORKING_HOURS_START", 7)
AUDIT_FLAG_WORKING_HOURS_END = env_int("AUDIT_FLAG_WORKING_HOURS_END", 20)
AUDIT_FLAG_WEEKENDS = env_bool("AUDIT_FLAG_WEEKENDS", True)
# Many patients: a read that brings one actor to N distinct patients within M minutes.
AUDIT_FLAG_MANY_PATIENTS_COUNT = env_int("AUDIT_FLAG_MANY_PATIENTS_COUNT", 20)
AUDIT_FLAG_MANY_PATIENTS_MINUTES = env_int("AUDIT_FLAG_MANY_PATIENTS_MINUTES", 60)
# The console shows this many days when no date range is given.
AUDIT_CONSOLE_DEFAULT_DAYS = env_int("AUDIT_CONSOLE_DEFAULT_DAYS", 31)

# Retention (manage.py audit_retention): care-related traces (about a patient) go once the
# patient's most recent trace is older than CARE_YEARS (the record lives 20 years after the last
# stay) and the record hold, if set, does not keep them; technical traces (no patient) after DAYS.
AUDIT_RETENTION_CARE_YEARS = env_int("AUDIT_RETENTION_CARE_YEARS", 20)
AUDIT_RETENTION_TECHNICAL_DAYS = env_int("AUDIT_RETENTION_TECHNICAL_DAYS", 365)
# Dotted path to a callable(patient_ids: set[UUID]) -> set[UUID] naming the patients whose record
# is still kept (e.g. until the 28th birthday, docs/domain.md "The audit trail"); their traces are kept too.
AUDIT_RETENTION_RECORD_HOLD = os.environ.get("AUDIT_RETENTION_RECORD_HOLD", "")
# The DPO console finds patients by name, IPP or INS through the records app (a dotted path: audit imports no domain
# app): a callable (*, query="", ids=()) -> {public_id: label}. Empty: search by the patient's identifier only.
AUDIT_PATIENT_RESOLVER = os.environ.get("AUDIT_PATIENT_RESOLVER", "records.selectors.patients_for_audit")

# --- Security ---------------------------------------------------------------------------------

# Two-factor login (TOTP, django-otp): mandatory for these roles, optional for patients.
SECOND_FACTOR_ROLES = ["chu_clinician", "chu_collaborator", "external_professional", "dpo", "admin"]
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "CHU Portal")
BACKUP_CODES_COUNT = 10
# Professional (and DPO, admin) sessions end after this many idle seconds; patients' after SESSION_COOKIE_AGE.
PROFESSIONAL_SESSION_IDLE_SECONDS = env_int("PROFESSIONAL_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)

# The client's address behind the hospital's proxy (chu_portal/client_ip.py): empty means REMOTE_ADDR;
# e.g. X-Forwarded-For, read CLIENT_IP_PROXIES hops from the right (one per trusted proxy).
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")
CLIENT_IP_PROXIES = max(1, env_int("CLIENT_IP_PROXIES", 1))

# Login throttling (django-axes): lock a username from an address after AXES_FAILURE_LIMIT failures,
# and an address whatever the usernames (password spraying) after AXES_ADDRESS_FAILURE_LIMIT
# (accounts/lockout.py). Both are traced and flagged for the DPO.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "chu_portal.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
# django-axes' admin pages keep raw form data: not registered (unlock with manage.py axes_reset_ip/_username).
AXES_ENABLE_ADMIN = False


def env_rate(name: str, default: str) -> str | None:
    """A DRF rate ("30/hour"); "off" or "none" disables the limit."""
    value = os.environ.get(name, default).strip()
    return None if value.lower() in {"off", "none", ""} else value


# Rate limits (accounts/throttling.py: DRF throttles on the Django cache), one setting per scope.
THROTTLE_RATES = {
    "lookup_user": env_rate("THROTTLE_LOOKUP_USER", "30/hour"),  # INS lookups by one professional
    "lookup_ins": env_rate("THROTTLE_LOOKUP_INS", "10/hour"),  # lookups of one INS, by anyone
    "token": env_rate("THROTTLE_TOKEN", "20/minute"),  # API token requests from one address
    "password_reset": env_rate("THROTTLE_PASSWORD_RESET", "5/hour"),  # reset e-mails asked from one address
    "activation": env_rate("THROTTLE_ACTIVATION", "10/hour"),  # activation attempts from one address
    "consent_request": env_rate("THROTTLE_CONSENT_REQUEST", "30/hour"),  # consent requests by one professional
    "trusted_naming": env_rate("THROTTLE_TRUSTED_NAMING", "10/day"),  # trusted representatives named by one patient
}
THROTTLE_CACHE_PREFIX = "throttle"

# Content Security Policy (django-csp): nonces, no unsafe-inline, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CHU Portal <no-reply@chu-portal.invalid>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The seed refuses to create demo accounts with DEBUG off unless forced (README, "The demo cast").
DEMO_PASSWORD = "demo-chu-2026"
