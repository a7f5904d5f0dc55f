"""Sending email over SMTP, configured by one URL (ROLLCALL_SMTP_URL).

    smtp://USER:PASSWORD@HOST:587?from=rollcall@example.org    STARTTLS (the default), then AUTH
    smtps://USER:PASSWORD@HOST:465?from=...                      TLS from the first byte
    smtp://HOST:25?starttls=0                                    plain, no AUTH (a local relay)

Query options: from (the sender; default rollcall@ the machine's name), starttls=0|1,
timeout=SECONDS (default 20), cafile=PATH (a CA bundle to trust besides the system's, e.g. a
private relay's certificate). User and password are URL-encoded (a @ in a password is %40).
Certificates are always verified; credentials are never sent over an unencrypted connection.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from rollcall.errors import RollcallError

URL_ENV = "ROLLCALL_SMTP_URL"


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = True
    timeout: float = 20.0
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Mailer:
        """Parse ROLLCALL_SMTP_URL; RollcallError saying what a valid one looks like."""
        example = "e.g. smtp://user:password@mail.example.org:587?from=rollcall@example.org"
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise RollcallError(f"{URL_ENV} must be an smtp:// or smtps:// URL, {example}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"from", "starttls", "timeout", "cafile"}
        if unknown:
            raise RollcallError(
                f"{URL_ENV} has unknown option(s) {', '.join(sorted(unknown))}; "
                "use from, starttls, timeout or cafile"
            )
        implicit = parts.scheme == "smtps"
        starttls = not implicit and query.get("starttls", "1") not in ("0", "false", "no")
        try:
            port = parts.port or (465 if implicit else 587)
            timeout = float(query.get("timeout", "20"))
        except ValueError:
            raise RollcallError(f"{URL_ENV} has a bad port or timeout, {example}") from None
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if user and not (implicit or starttls):
            raise RollcallError(
                f"{URL_ENV} gives a password but turns encryption off (starttls=0): the "
                "password would cross the network in clear; use starttls=1 or smtps://"
            )
        sender = query.get("from") or f"rollcall@{socket.getfqdn() or 'localhost'}"
        if "@" not in sender:
            raise RollcallError(f"{URL_ENV}: from={sender!r} is not an email address")
        return cls(
            parts.hostname, port, sender, user, password, implicit, starttls, timeout,
            query.get("cafile"),
        )  # fmt: skip

    def describe(self) -> str:
        """Where mail goes, without the password (for pages and logs)."""
        mode = "TLS" if self.implicit_tls else ("STARTTLS" if self.starttls else "no encryption")
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.port} ({mode}), from {self.sender}"

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.cafile:
            context.load_verify_locations(cafile=self.cafile)
        return context

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Deliver one message; raises OSError / smtplib.SMTPException when it cannot."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
        message.set_content(body)
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if self.starttls:
                client.starttls(context=self._tls())
                client.ehlo()
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


def mailer_from_env(env: dict[str, str]) -> Mailer | None:
    url = env.get(URL_ENV, "").strip()
    return Mailer.from_url(url) if url else None
