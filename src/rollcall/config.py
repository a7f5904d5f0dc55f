"""One Settings object built from the environment, validated at start-up."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_dir

from rollcall.errors import RollcallError


def default_home() -> Path:
    return Path(user_data_dir("rollcall", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Where rollcall keeps its data, and which face engine it runs.

    ROLLCALL_HOME holds the SQLite database (by default), evidence crops and keys;
    ROLLCALL_DATABASE_URL points the database elsewhere (PostgreSQL, MySQL).
    """

    home: Path = field(default_factory=default_home)
    database_url: str | None = None
    detector: str = "yunet"
    embedder: str = "sface+dlib"
    threads: int = 0
    match_threshold: float | None = None  # None: the calibrated default for the embedder
    match_margin: float | None = None
    # Read each gallery tile's name label (OCR) and keep it with the faces sighted in that tile
    # (ROLLCALL_READ_LABELS=0 turns it off).
    read_labels: bool = True
    # Verifications keep a named face's name on dlib's half alone when it clears the re-check
    # threshold (vision.gallery.RECHECK_THRESHOLD; sface+dlib only), embedding the rest in full
    # (ROLLCALL_RECHECK=0: every face in full).
    recheck: bool = True
    # The nice value `rollcall run` and the workers give themselves (0-19; 0: unchanged), so
    # the portal and the meeting app keep the CPU they need (analysis/priority.py).
    analysis_nice: int = 10
    # Evidence crops are deleted this many days after their session ends (rollcall purge).
    retention_days: int = 90
    # IANA zone for clock times and schedules of courses without their own; None: the machine's.
    timezone: str | None = None
    # Celery's broker (redis://host:6379/0): the server hands frames to `rollcall worker`
    # processes; unset, it analyzes them itself. `rollcall run` never needs one.
    broker_url: str | None = None
    # Where alert emails go (ROLLCALL_SMTP_URL, see alerts/mailer.py); None: they wait in the
    # outbox until it is set.
    smtp_url: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if env.get("ROLLCALL_HOME"):
            values["home"] = Path(env["ROLLCALL_HOME"]).expanduser()
        if env.get("ROLLCALL_DATABASE_URL"):
            values["database_url"] = env["ROLLCALL_DATABASE_URL"]
        if env.get("ROLLCALL_BROKER_URL"):
            values["broker_url"] = env["ROLLCALL_BROKER_URL"]
        for key, name, kind in (
            ("ROLLCALL_DETECTOR", "detector", str),
            ("ROLLCALL_EMBEDDER", "embedder", str),
            ("ROLLCALL_THREADS", "threads", int),
            ("ROLLCALL_MATCH_THRESHOLD", "match_threshold", float),
            ("ROLLCALL_MATCH_MARGIN", "match_margin", float),
            ("ROLLCALL_RETENTION_DAYS", "retention_days", int),
            ("ROLLCALL_ANALYSIS_NICE", "analysis_nice", int),
        ):
            if env.get(key):
                try:
                    values[name] = kind(env[key])
                except ValueError:
                    message = f"{key}={env[key]!r} is not a valid {kind.__name__}"
                    raise RollcallError(message) from None
        if not 0 <= int(values.get("analysis_nice", 0)) <= 19:  # type: ignore[call-overload]
            raise RollcallError(
                f"ROLLCALL_ANALYSIS_NICE={env['ROLLCALL_ANALYSIS_NICE']!r} is not between 0 and 19"
            )
        for key, name in (("ROLLCALL_READ_LABELS", "read_labels"), ("ROLLCALL_RECHECK", "recheck")):
            if env.get(key, "").strip():
                flag = env[key].strip().lower()
                if flag not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                    raise RollcallError(f"{key}={flag!r} is not 0 or 1")
                values[name] = flag in ("1", "true", "yes", "on")
        if env.get("ROLLCALL_TIMEZONE"):
            from rollcall.wallclock import check_zone

            values["timezone"] = check_zone(env["ROLLCALL_TIMEZONE"], "ROLLCALL_TIMEZONE")
        if env.get("ROLLCALL_SMTP_URL", "").strip():
            from rollcall.alerts.mailer import Mailer

            Mailer.from_url(env["ROLLCALL_SMTP_URL"])  # a bad URL is refused at start-up
            values["smtp_url"] = env["ROLLCALL_SMTP_URL"].strip()
        portal_address(env)  # ROLLCALL_PORTAL_URL, for alert emails' links: refused at start-up
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'rollcall.db'}"

    @property
    def mailer(self):  # noqa: ANN201
        """The SMTP mailer (alerts.mailer.Mailer), or None when ROLLCALL_SMTP_URL is not set."""
        from rollcall.alerts.mailer import Mailer

        return Mailer.from_url(self.smtp_url) if self.smtp_url else None

    @property
    def evidence_dir(self) -> Path:
        return self.home / "evidence"

    def ensure_home(self) -> Path:
        try:
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RollcallError(f"cannot create ROLLCALL_HOME at {self.home}: {exc}") from None
        return self.home


def portal_address(env: dict[str, str] | None = None) -> str | None:
    """ROLLCALL_PORTAL_URL (https://rollcall.school.example), without a trailing slash: where
    staff open the portal, for links in alert emails (None: unset). Read where a letter is
    written, by whichever process closes the session (a run, a worker, the portal)."""
    value = (os.environ if env is None else env).get("ROLLCALL_PORTAL_URL", "").strip()
    if not value:
        return None
    if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
        raise RollcallError(
            f"ROLLCALL_PORTAL_URL={value!r} is not a web address (https://host[/path])"
        )
    return value.rstrip("/")
