"""The typed schema of `pwreset.toml`.

Every table forbids unknown keys (the loader turns them into "did you mean" hints), and
relative paths are resolved against the folder of the configuration file by the loader.
The relay reads only `[web]` and `[sites.*]`, so a DMZ host's file needs nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pwreset.config.console_settings import ConsoleSettings
from pwreset.config.drive_settings import EnrollmentDriveSettings
from pwreset.config.dsn import check_dsn
from pwreset.config.expiry_settings import ExpiryNoticeSettings
from pwreset.config.factor_settings import FactorSettings
from pwreset.config.flow_settings import (
    ApiSettings,
    ChangeSettings,
    EnrollSettings,
    SecuritySettings,
    TotpSettings,
    VerificationSettings,
)
from pwreset.config.notify_settings import (
    Alert,
    AlertEvent,
    CodeMail,
    EmailSettings,
    stock_alerts,
    with_stock_alerts,
)
from pwreset.config.passkey_settings import (
    RelyingParty,
    check_origin,
    check_rp_id,
    relying_party,
    split_address,
    within,
)
from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.config.report_settings import ReportMailSettings
from pwreset.config.siem_settings import SiemSettings
from pwreset.protocol import client

# The flows a site may offer; a site enables a subset.
FLOWS: tuple[str, ...] = ("enroll", "reset", "unlock", "change")
Flow = Literal["enroll", "reset", "unlock", "change"]

_VDIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


def parse_address(value: str) -> tuple[str, int]:
    """`host:port` (IPv6 in brackets) as a tuple; raises ValueError naming what is wrong."""
    match = _HOST_PORT.match(value.strip())
    if not match:
        raise ValueError(f"expected host:port, got {value!r}")
    host, port = match.group(1).strip("[]"), int(match.group(2))
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range 1-65535")
    return host, port


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_address(value: str) -> str:
    parse_address(value)
    return value


def _check_servers(value: str | list[str] | None) -> str | list[str] | None:
    """One server (`host:port`) or several (the relay's failover order), each once."""
    if not isinstance(value, list):
        return None if value is None else _check_address(value)
    if not value:
        raise ValueError("name at least one server (host:port)")
    for address in value:
        _check_address(address)
    if len({parse_address(a) for a in value}) != len(value):
        raise ValueError("a server is named twice")
    return value


def _servers(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class TlsConfig(_Table):
    """How the backend checks a directory's certificate (on by default)."""

    verify: bool = True
    ca_file: Path | None = None
    # The name in the certificate, when the URLs use an IP address or another name.
    server_name: str | None = None


class DomainConfig(_Table):
    """One directory the backend may reset passwords in."""

    name: str = Field(min_length=1, max_length=255)
    aliases: list[str] = []
    kind: Literal["ad", "openldap"]
    # Before `urls`, so the URL check can see it.
    start_tls: bool = False
    urls: list[str] = Field(min_length=1)
    base_dn: str = Field(min_length=1)
    user_filter: str | None = None
    bind_dn: str = Field(min_length=1)
    bind_password_env: str | None = None
    bind_password_file: Path | None = None
    tls: TlsConfig = TlsConfig()
    timeout: float = Field(default=10.0, gt=0, le=120)
    # The domain of the users' e-mail addresses, shown (masked) as the code destination of
    # names that are unknown or not enrolled; "" = the first alias with a dot, else base_dn.
    mail_domain: str = Field(default="", max_length=255, pattern=r"^[A-Za-z0-9.-]*$")

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str], info: ValidationInfo) -> list[str]:
        for url in urls:
            if not re.match(r"^ldaps?://[^/\s]+/?$", url):
                raise ValueError(f"{url!r} is not an ldap:// or ldaps:// URL with a host")
        # Any URL may be the one a failover lands on, so every ldap:// one needs StartTLS.
        # tls.verify = false only skips the certificate check; it never allows plain LDAP.
        plain = [u for u in urls if u.startswith("ldap://")]
        if plain and info.data.get("start_tls") is False:
            raise ValueError(
                f"{plain[0]!r} would send the service account's and users' passwords in "
                "clear: use ldaps:// or set start_tls = true"
            )
        return urls

    @field_validator("user_filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is not None and "{username}" not in value:
            raise ValueError("the filter must contain {username}")
        if value is not None and not (value.startswith("(") and value.endswith(")")):
            raise ValueError("the filter must be enclosed in parentheses")
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> DomainConfig:
        if self.bind_password_env and self.bind_password_file:
            raise ValueError("set bind_password_env or bind_password_file, not both")
        return self

    def matches(self, typed: str) -> bool:
        """Whether a domain the user typed or picked names this directory."""
        wanted = typed.strip().casefold()
        return wanted in {self.name.casefold(), *(a.casefold() for a in self.aliases)}

    def effective_mail_domain(self) -> str:
        if self.mail_domain:
            return self.mail_domain.lower()
        dotted = next((a for a in self.aliases if "." in a), "")
        if dotted:
            return dotted.lower()
        return self.dns_domain()

    def dns_domain(self) -> str:
        """The DNS name of `base_dn` (AD's default UPN suffix)."""
        rdns = [rdn.strip() for rdn in self.base_dn.split(",")]
        dcs = [rdn[3:].strip() for rdn in rdns if rdn.lower().startswith("dc=")]
        return ".".join(dcs).lower() if dcs else f"{self.name.lower()}.local"

    def effective_user_filter(self) -> str:
        if self.user_filter:
            return self.user_filter
        if self.kind == "ad":
            return (
                "(&(objectCategory=person)(objectClass=user)"
                "(|(sAMAccountName={username})(userPrincipalName={username})))"
            )
        return "(&(objectClass=inetOrgPerson)(uid={username}))"


class ServerConfig(_Table):
    """The reset backend (`pwreset server`)."""

    # Loopback by default: a relay on another host needs this set to an inside address.
    listen: str = "127.0.0.1:5100"
    # The first key is current; older ones stay accepted while relays move to the new one.
    private_keys: list[Path] = Field(default=[Path("keys/server.key")], min_length=1)
    data_key_file: Path = Path("keys/data.key")
    # Required (the server refuses to start without it) unless the opt-out below is set.
    relay_key_file: Path | None = None
    # Serve requests sealed without the relay key too; their client IP and web user are
    # then not believed (left out of the audit).
    allow_unauthenticated_relays: bool = False
    data_dir: Path = Path("data")
    clock_skew: int = Field(default=60, ge=5, le=3600)
    max_datagram: int = Field(default=32768, ge=1024, le=65000)
    workers: int = Field(default=8, ge=1, le=256)
    log_file: Path | None = None

    _listen = field_validator("listen")(_check_address)


def _check_public_url(value: str) -> str:
    if not value:
        return value
    parts = split_address(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https:// address (https://host[:port][/prefix])")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r}: give only https://host[:port][/prefix]")
    return value.rstrip("/")


class WebConfig(_Table):
    """The relay (`pwreset web`): it needs only the server's public key and addresses."""

    listen: str = "127.0.0.1:8080"
    # The server, or several sharing one PostgreSQL database, tried in turn (failover).
    server: str | list[str] = "127.0.0.1:5100"
    server_public_key_file: Path = Path("keys/server.pub")
    relay_key_file: Path | None = None
    # The resend schedule for a lossy link (pwreset.protocol.client): the first resend after
    # `timeout` s, the wait doubled after each send up to `max_timeout`, `attempts` in all.
    timeout: float = Field(default=client.TIMEOUT, gt=0, le=30)
    max_timeout: float = Field(default=client.MAX_TIMEOUT, gt=0, le=30)
    attempts: int = Field(default=client.ATTEMPTS, ge=1, le=100)
    serve_site: bool = False
    # Serve HTTPS directly (otherwise put a TLS-terminating reverse proxy in front).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Refuse plain HTTP: pages are redirected to https://, API calls refused. Behind a
    # proxy, its X-Forwarded-Proto counts when the proxy is in trusted_proxies.
    require_https: bool = False
    trusted_proxies: list[str] = []
    # A header a trusted proxy sets to the signed-in web user (audited as "source user").
    web_user_header: str = ""
    # Requests to the backend per end-user address and minute (enroll, change, every step
    # of reset and unlock); 0 = no limit. Each relay instance counts on its own.
    rate_limit: int = Field(default=30, ge=0, le=100_000)
    max_body: int = Field(default=16384, ge=1024, le=1048576)
    # Clients (addresses as found through trusted_proxies) that see /healthz in detail:
    # each backend's address and state. Everyone else sees only the overall status.
    admin_networks: list[str] = ["127.0.0.0/8", "::1/128"]
    # The address users open, https://host[:port][/prefix]: require_https redirects plain-
    # HTTP pages there. Unset, they get an error page instead (the Host header may be forged).
    public_url: str = ""

    _listen = field_validator("listen")(_check_address)
    _server = field_validator("server")(_check_servers)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_public_url(value)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file, or neither")
        return self


class SiteConfig(_Table):
    """One virtual directory (a department's site): its pages and where it relays."""

    title: str = "Password self-service"
    theme: str = "default"
    flows: list[Flow] = ["enroll", "reset", "unlock", "change"]
    # Offered as a drop-down, the first preselected; empty means the user types the domain.
    domains: list[str] = []
    # This site's server (the original's ServerIP_<VDIR>), or several; otherwise [web].server.
    server: str | list[str] | None = None
    # Where the pages send requests; empty means the same origin, /<vdir>/api/v1.
    api_base: str = ""
    language: str = "en"
    # Languages the pages are built in; `language` is always among them (built first).
    languages: list[str] = ["en"]
    # Theme option values for this site only (`primary = "#0b6e4f"`), over the theme's defaults.
    options: dict[str, str] = {}
    # The enrollment-status API for this site (the original's per-vdir WebAPIState); unset,
    # [api] enrollment_status decides.
    enrollment_status: bool | None = None
    # The WebAuthn relying party of this site's passkeys (pwreset.config.passkey_settings):
    # its domain and the origins its pages are served from; unset, [web] public_url's.
    passkey_rp_id: Annotated[str, AfterValidator(check_rp_id)] = ""
    passkey_origins: list[Annotated[str, AfterValidator(check_origin)]] = []

    _server = field_validator("server")(_check_servers)

    @model_validator(mode="after")
    def _passkey_origins_within_rp_id(self) -> SiteConfig:
        for origin in self.passkey_origins:
            if self.passkey_rp_id and not within(origin, self.passkey_rp_id):
                raise ValueError(
                    f"passkey_origins: {origin!r} is not on {self.passkey_rp_id!r} or one of "
                    "its subdomains (passkey_rp_id): browsers refuse such a ceremony"
                )
        return self


def _check_site_name(name: str) -> str:
    if not _VDIR.match(name):
        raise ValueError(
            f"site name {name!r} must be 1-64 letters, digits, '-' or '_' (it becomes the URL path)"
        )
    return name


SiteName = Annotated[str, AfterValidator(_check_site_name)]


class BuildConfig(_Table):
    output: Path = Path("site")


class StorageConfig(_Table):
    """The database (`[storage]`): which store, and how long the audit log and missing users
    stay."""

    # "embedded": TinyDB files in server.data_dir, one server. "postgresql": a database that
    # several servers share (`pip install 'pwreset[postgres]'`), reached through `dsn`.
    backend: Literal["embedded", "postgresql"] = "embedded"
    # libpq's connection string, without the password: postgresql://USER@HOST:PORT/DATABASE
    # (?sslmode=verify-full&sslrootcert=... for TLS) or key=value pairs.
    dsn: Annotated[str, AfterValidator(check_dsn)] | None = None
    # Where the database password is: an environment variable, or a file (0600).
    password_env: str | None = None
    password_file: Path | None = None

    # Days of audit log kept, as whole days; 0 keeps it forever (the original's behaviour).
    audit_retention_days: int = Field(default=0, ge=0, le=36500)
    # A user gone from the directory this many days is removed by the purge (original: ~7).
    purge_after_days: int = Field(default=7, ge=1, le=3650)
    # Journal records written before the store compacts into a new snapshot (at least this,
    # and at least as many as there are users, so compaction costs O(1) per write).
    compact_min_records: int = Field(default=10_000, ge=100, le=10_000_000)

    @model_validator(mode="after")
    def _postgresql_needs_a_dsn(self) -> StorageConfig:
        if self.backend == "postgresql" and self.dsn is None:
            raise ValueError(
                'storage.backend = "postgresql" needs storage.dsn, the connection string '
                "(postgresql://USER@HOST:PORT/DATABASE)"
            )
        if self.password_env and self.password_file:
            raise ValueError("set storage.password_env or storage.password_file, not both")
        return self


class Config(_Table):
    """The whole `pwreset.toml`."""

    server: ServerConfig = ServerConfig()
    web: WebConfig = WebConfig()
    domains: list[DomainConfig] = []
    sites: dict[SiteName, SiteConfig] = Field(
        default_factory=lambda: {"pwreset": SiteConfig()}, min_length=1
    )
    build: BuildConfig = BuildConfig()
    storage: StorageConfig = StorageConfig()
    enroll: EnrollSettings = EnrollSettings()
    change: ChangeSettings = ChangeSettings()
    security: SecuritySettings = SecuritySettings()
    verification: VerificationSettings = VerificationSettings()
    totp: TotpSettings = TotpSettings()
    email: EmailSettings = EmailSettings()
    code_mail: CodeMail = CodeMail()
    # Stock alerts for enroll, reset, unlock and lockout unless configured otherwise.
    alerts: Annotated[dict[AlertEvent, Alert], BeforeValidator(with_stock_alerts)] = Field(
        default_factory=stock_alerts  # type: ignore[arg-type]
    )
    api: ApiSettings = ApiSettings()
    password_policy: PasswordPolicySettings = PasswordPolicySettings()
    expiry_notices: ExpiryNoticeSettings = ExpiryNoticeSettings()
    siem: SiemSettings = SiemSettings()
    enrollment_drive: EnrollmentDriveSettings = EnrollmentDriveSettings()
    report_mail: ReportMailSettings = ReportMailSettings()
    console: ConsoleSettings = ConsoleSettings()
    # Absent: a reset asks the questions, then a code when verification is on (as always).
    factors: FactorSettings | None = None
    # The folder relative paths are resolved against (set by the loader).
    base_dir: Path = Path()
    source: Path | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        names = [d.name.casefold() for d in self.domains]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"domain names must be unique: {', '.join(duplicates)}")
        if self.domains:
            for vdir, site in self.sites.items():
                for typed in site.domains:
                    if not any(d.matches(typed) for d in self.domains):
                        raise ValueError(
                            f"sites.{vdir}.domains lists {typed!r}, which no [[domains]] "
                            "entry names"
                        )
        return self

    @model_validator(mode="after")
    def _passkeys_on_the_public_url(self) -> Config:
        for vdir, site in self.sites.items():
            party = self.relying_party(vdir)
            from_public_url = party and site.passkey_rp_id and not site.passkey_origins
            if party and from_public_url and not within(party.origins[0], party.id):
                raise ValueError(
                    f"sites.{vdir}.passkey_rp_id {party.id!r} is not the host of "
                    f"web.public_url or a parent of it: set sites.{vdir}.passkey_origins"
                )
        return self

    @model_validator(mode="after")
    def _expiry_notices_can_be_sent(self) -> Config:
        if self.expiry_notices.enabled:
            self._check_user_round("expiry_notices", "change", self.expiry_notices)
        return self

    @model_validator(mode="after")
    def _enrollment_drive_can_be_sent(self) -> Config:
        drive = self.enrollment_drive
        if drive.enabled:
            self._check_user_round("enrollment_drive", "enroll", drive)
            if "email" in drive.channels and not self.verification.email_attribute:
                raise ValueError(
                    'enrollment_drive.channels has "email" but verification.email_attribute '
                    "is empty: users who have not enrolled have only the directory's address"
                )
        return self

    @model_validator(mode="after")
    def _report_mail_can_be_sent(self) -> Config:
        if self.report_mail.enabled:
            if not self.report_mail.to:
                raise ValueError("report_mail.to: name at least one address to mail the reports to")
            if self.email.delivery == "off":
                raise ValueError('report_mail is enabled but email.delivery is "off"')
        return self

    def _check_user_round(
        self, table: str, flow: str, settings: ExpiryNoticeSettings | EnrollmentDriveSettings
    ) -> None:
        """A round that mails users a link to a site's `flow` page can be sent: the public
        URL, the site, its flow for every domain and each channel's settings are there."""
        if not self.web.public_url:
            raise ValueError(f"{table} needs web.public_url: its messages link to the {flow} page")
        site = self.sites.get(settings.site) if settings.site else None
        if settings.site and site is None:
            raise ValueError(f"{table}.site {settings.site!r} is no [sites] entry")
        if site is not None and flow not in site.flows:
            raise ValueError(f"{table}.site {settings.site!r} does not offer the {flow} flow")
        for domain in self.domains:
            if self.flow_site(domain, flow, settings.site) is None:
                raise ValueError(
                    f"{table}: no site offers the {flow} flow for domain {domain.name!r}; "
                    f"set {table}.site"
                )
        if "email" in settings.channels and self.email.delivery == "off":
            raise ValueError(f'{table}.channels has "email" but email.delivery is "off"')
        if "sms" in settings.channels and not self.verification.sms_command:
            raise ValueError(f'{table}.channels has "sms" but verification.sms_command is unset')

    def change_site(self, domain: DomainConfig) -> str | None:
        """The site whose change page an expiry notice for `domain` links to."""
        return self.flow_site(domain, "change", self.expiry_notices.site)

    def enroll_site(self, domain: DomainConfig) -> str | None:
        """The site whose enroll page an enrollment reminder for `domain` links to."""
        return self.flow_site(domain, "enroll", self.enrollment_drive.site)

    def flow_site(self, domain: DomainConfig, flow: str, chosen: str = "") -> str | None:
        """`chosen`, else the first site offering `flow` for `domain`."""
        if chosen:
            return chosen
        for vdir, site in self.sites.items():
            offered = not site.domains or any(domain.matches(typed) for typed in site.domains)
            if offered and flow in site.flows:
                return vdir
        return None

    @model_validator(mode="after")
    def _factor_sites_exist(self) -> Config:
        for name in self.factors.sites if self.factors else ():
            if name not in self.sites:
                raise ValueError(f"factors.sites.{name}: no site by that name in [sites]")
        return self

    @model_validator(mode="after")
    def _sms_env_holds_no_secret(self) -> Config:
        # The SMS program is someone else's code: it never gets pwreset's own secrets.
        secrets = {self.email.password_env: "email.password_env"}
        for index, domain in enumerate(self.domains):
            secrets[domain.bind_password_env] = f"domains[{index}].bind_password_env"
        for name in self.verification.sms_env:
            if name in secrets:
                raise ValueError(
                    f"verification.sms_env lists {name}, the variable of {secrets[name]}: "
                    "the SMS program never gets pwreset's secrets"
                )
        return self

    def path(self, value: Path) -> Path:
        """A configured path, resolved against the configuration file's folder."""
        return value if value.is_absolute() else self.base_dir / value

    def domain(self, typed: str) -> DomainConfig | None:
        return next((d for d in self.domains if d.matches(typed)), None)

    def enrollment_status(self, vdir: str) -> bool:
        """Whether `vdir` answers the enrollment-status API: its own setting, else [api]'s."""
        site = self.sites.get(vdir)
        own = site.enrollment_status if site is not None else None
        return self.api.enrollment_status if own is None else own

    def relying_party(self, vdir: str) -> RelyingParty | None:
        """The WebAuthn relying party of `vdir`'s passkeys; None: the site sets none and
        [web] public_url is unset."""
        site = self.sites[vdir]
        return relying_party(
            site.passkey_rp_id, site.passkey_origins, self.web.public_url, site.title
        )

    def server_addresses(self, vdir: str) -> list[str]:
        """The site's servers (`host:port`), in the relay's failover order."""
        return _servers(self.sites[vdir].server or self.web.server)
