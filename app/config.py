"""Settings read from the environment; the defaults suit a developer's machine (SQLite under instance/)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SECRET = "kasane-development-secret-change-me"


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a safe configuration."""


@dataclass(frozen=True)
class ScriptLimits:
    """What one designer script, condition or timer expression may use in its sandbox process:
    CPU seconds (KASANE_SCRIPT_CPU_SECONDS) and memory beyond what the process already maps
    (KASANE_SCRIPT_MEMORY_MB)."""

    cpu_seconds: float = 1.0
    memory_mb: int = 256


def read_script_limits(environ: Mapping[str, str] | None = None) -> ScriptLimits:
    """Read the sandbox limits; refuse values that are not numbers or make no sense."""
    environ = os.environ if environ is None else environ
    try:
        cpu = float(environ.get("KASANE_SCRIPT_CPU_SECONDS") or ScriptLimits.cpu_seconds)
        memory = int(environ.get("KASANE_SCRIPT_MEMORY_MB") or ScriptLimits.memory_mb)
    except ValueError as exc:
        raise ConfigError(
            "KASANE_SCRIPT_CPU_SECONDS must be a number of seconds and "
            "KASANE_SCRIPT_MEMORY_MB a whole number of megabytes"
        ) from exc
    if not 0 < cpu <= 600:
        raise ConfigError("KASANE_SCRIPT_CPU_SECONDS must be more than 0 and at most 600")
    if not 16 <= memory <= 1024 * 1024:
        raise ConfigError("KASANE_SCRIPT_MEMORY_MB must be between 16 and 1048576")
    return ScriptLimits(cpu_seconds=cpu, memory_mb=memory)


@dataclass(frozen=True)
class Settings:
    """What create_app needs from the environment."""

    env: str
    secret_key: str
    database_url: str | None
    script_limits: ScriptLimits = ScriptLimits()

    @property
    def production(self) -> bool:
        return self.env == "production"


def read_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings; refuse a production start with a missing or default secret."""
    environ = dict(os.environ if environ is None else environ)
    env = environ.get("KASANE_ENV", "development")
    secret = environ.get("SECRET_KEY", "")
    if env == "production" and (not secret or secret == DEFAULT_SECRET or len(secret) < 16):
        raise ConfigError(
            "SECRET_KEY must be set to a random value of at least 16 characters in production"
        )
    return Settings(
        env=env,
        secret_key=secret or DEFAULT_SECRET,
        database_url=environ.get("DATABASE_URL") or None,
        script_limits=read_script_limits(environ),
    )


def flask_config(settings: Settings, instance_path: str) -> dict[str, object]:
    """Translate settings into Flask configuration keys."""
    url = settings.database_url or f"sqlite:///{os.path.join(instance_path, 'kasane.db')}"
    return {
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url),
        "KASANE_ENV": settings.env,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "KASANE_IDLE_MINUTES": int(os.environ.get("KASANE_IDLE_MINUTES", "30")),
        "KASANE_METRICS_TOKEN": os.environ.get("KASANE_METRICS_TOKEN") or None,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "WTF_CSRF_TIME_LIMIT": None,
        "KASANE_PROCESSES_DIR": os.path.join(
            os.path.dirname(os.path.dirname(__file__)), "processes"
        ),
        "KASANE_FORMS_DIR": os.path.join(os.path.dirname(os.path.dirname(__file__)), "forms"),
    }


def engine_options(url: str) -> dict[str, object]:
    """Connection options per database kind."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # A connection is checked before use only after lying idle (app.connections), not each time.
    options: dict[str, object] = {"pool_size": 10, "max_overflow": 20}
    if url.startswith("postgresql"):
        # The access query's correlated lookups have estimated costs in the millions, so PostgreSQL
        # would JIT-compile each such statement (about a second) although it runs in milliseconds;
        # for the same reason it would start parallel workers (some milliseconds each time) for
        # statements that read a few hundred index entries.
        options["connect_args"] = {"options": "-c jit=off -c max_parallel_workers_per_gather=0"}
    return options
