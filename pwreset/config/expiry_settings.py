"""`[expiry_notices]`: warning users by e-mail or SMS before their password expires.

The stock texts exist in every language pwreset ships; `[TIME_LEFT]` ("in 7 days", "in 7
Tagen") and `[EXPIRY_DATE]` are written in the user's language when the notice is made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pwreset.config.notify_settings import MailText

# The macros a notice's subject, body and SMS text may use (besides [AD_USER], [AD_DOMAIN]).
NOTICE_MACROS = ("[DAYS_LEFT]", "[TIME_LEFT]", "[EXPIRY_DATE]", "[CHANGE_URL]")
NoticeChannel = Literal["email", "sms"]

_MAIL: dict[str, tuple[str, str]] = {
    "en": (
        "Your password expires [TIME_LEFT]",
        "The password of [AD_USER] in [AD_DOMAIN] expires [TIME_LEFT], on [EXPIRY_DATE].\n\n"
        "Change it before then on the password self-service page:\n[CHANGE_URL]\n\n"
        "Once it has expired you can no longer sign in with it.",
    ),
    "de": (
        "Ihr Kennwort läuft [TIME_LEFT] ab",
        "Das Kennwort von [AD_USER] in [AD_DOMAIN] läuft [TIME_LEFT] ab, am [EXPIRY_DATE].\n\n"
        "Ändern Sie es vorher auf der Seite zur Kennwort-Selbstbedienung:\n[CHANGE_URL]\n\n"
        "Nach Ablauf können Sie sich damit nicht mehr anmelden.",
    ),
    "fr": (
        "Votre mot de passe expire [TIME_LEFT]",
        "Le mot de passe de [AD_USER] dans [AD_DOMAIN] expire [TIME_LEFT], le [EXPIRY_DATE]."
        "\n\nModifiez-le d'ici là sur la page de mot de passe en libre-service :\n"
        "[CHANGE_URL]\n\nUne fois expiré, il ne vous permettra plus de vous connecter.",
    ),
    "es": (
        "Su contraseña caduca [TIME_LEFT]",
        "La contraseña de [AD_USER] en [AD_DOMAIN] caduca [TIME_LEFT], el [EXPIRY_DATE].\n\n"
        "Cámbiela antes en la página de autoservicio de contraseñas:\n[CHANGE_URL]\n\n"
        "Una vez caducada, ya no podrá iniciar sesión con ella.",
    ),
    "it": (
        "La sua password scade [TIME_LEFT]",
        "La password di [AD_USER] in [AD_DOMAIN] scade [TIME_LEFT], il [EXPIRY_DATE].\n\n"
        "La cambi prima di allora sulla pagina self-service delle password:\n[CHANGE_URL]\n\n"
        "Una volta scaduta, non potrà più accedere con essa.",
    ),
    "nl": (
        "Uw wachtwoord verloopt [TIME_LEFT]",
        "Het wachtwoord van [AD_USER] in [AD_DOMAIN] verloopt [TIME_LEFT], op [EXPIRY_DATE]."
        "\n\nWijzig het vóór die tijd op de selfservicepagina voor wachtwoorden:\n"
        "[CHANGE_URL]\n\nNa het verlopen kunt u er niet meer mee aanmelden.",
    ),
    "pt": (
        "A sua palavra-passe expira [TIME_LEFT]",
        "A palavra-passe de [AD_USER] em [AD_DOMAIN] expira [TIME_LEFT], a [EXPIRY_DATE].\n\n"
        "Altere-a antes disso na página de self-service de palavras-passe:\n[CHANGE_URL]\n\n"
        "Depois de expirar, deixa de poder iniciar sessão com ela.",
    ),
    "pl": (
        "Twoje hasło wygasa [TIME_LEFT]",
        "Hasło konta [AD_USER] w domenie [AD_DOMAIN] wygasa [TIME_LEFT] ([EXPIRY_DATE]).\n\n"
        "Zmień je wcześniej na stronie samoobsługi haseł:\n[CHANGE_URL]\n\n"
        "Po wygaśnięciu nie będzie można się nim zalogować.",
    ),
    "sv": (
        "Ditt lösenord upphör att gälla [TIME_LEFT]",
        "Lösenordet för [AD_USER] i [AD_DOMAIN] upphör att gälla [TIME_LEFT], den "
        "[EXPIRY_DATE].\n\nByt det innan dess på sidan för självbetjäning av lösenord:\n"
        "[CHANGE_URL]\n\nNär det har gått ut kan du inte längre logga in med det.",
    ),
    "ar": (
        "تنتهي صلاحية كلمة مرورك [TIME_LEFT]",
        "تنتهي صلاحية كلمة مرور الحساب [AD_USER] في النطاق [AD_DOMAIN] [TIME_LEFT]، في "
        "[EXPIRY_DATE].\n\nغيّرها قبل ذلك على صفحة الخدمة الذاتية لكلمات المرور:\n"
        "[CHANGE_URL]\n\nبعد انتهاء صلاحيتها لن تتمكن من تسجيل الدخول بها.",
    ),
}
_SMS: dict[str, str] = {
    "en": "Your password for [AD_USER] expires [TIME_LEFT]. Change it: [CHANGE_URL]",
    "de": "Ihr Kennwort für [AD_USER] läuft [TIME_LEFT] ab. Jetzt ändern: [CHANGE_URL]",
    "fr": "Votre mot de passe pour [AD_USER] expire [TIME_LEFT]. Modifiez-le : [CHANGE_URL]",
    "es": "Su contraseña de [AD_USER] caduca [TIME_LEFT]. Cámbiela: [CHANGE_URL]",
    "it": "La password di [AD_USER] scade [TIME_LEFT]. La cambi qui: [CHANGE_URL]",
    "nl": "Uw wachtwoord voor [AD_USER] verloopt [TIME_LEFT]. Wijzig het: [CHANGE_URL]",
    "pt": "A sua palavra-passe de [AD_USER] expira [TIME_LEFT]. Altere-a: [CHANGE_URL]",
    "pl": "Hasło konta [AD_USER] wygasa [TIME_LEFT]. Zmień je: [CHANGE_URL]",
    "sv": "Ditt lösenord för [AD_USER] upphör att gälla [TIME_LEFT]. Byt det: [CHANGE_URL]",
    "ar": "تنتهي صلاحية كلمة مرور [AD_USER] [TIME_LEFT]. غيّرها من هنا: [CHANGE_URL]",
}


def distinct_channels(channels: list[NoticeChannel]) -> list[NoticeChannel]:
    if len(set(channels)) != len(channels):
        raise ValueError("a channel is listed twice")
    return channels


def english_required(text: dict[str, object]) -> dict[str, object]:
    if "en" not in text:
        raise ValueError("an English text (en) is required: it is the fallback")
    return text


def _stock_mail() -> dict[str, MailText]:
    return {lang: MailText(subject=s, body=b) for lang, (s, b) in _MAIL.items()}


class ExpiryNoticeSettings(BaseModel):
    """Notices sent before a password expires, once per threshold and password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    # Days before the expiry at which a notice goes out; each once per password.
    days: list[int] = Field(default=[14, 7, 3, 1], min_length=1, max_length=30)
    channels: list[NoticeChannel] = Field(default=["email"], min_length=1)
    # The e-mail's recipients, with the alerts' address macros (';'-separated).
    to: str = Field(default="[AD_OR_APR_EMAIL]", min_length=1)
    # The hour of the day (the server's local time) at which the daily round starts.
    hour: int = Field(default=9, ge=0, le=23)
    # The site whose change page [CHANGE_URL] opens; "" = the first site offering `change`
    # for the user's domain.
    site: str = ""
    text: dict[str, MailText] = Field(default_factory=_stock_mail)
    sms_text: dict[str, str] = Field(default_factory=lambda: dict(_SMS))

    @field_validator("days")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        wrong = [d for d in days if not 1 <= d <= 365]
        if wrong:
            raise ValueError(f"every threshold must be 1 to 365 days, not {wrong[0]}")
        if len(set(days)) != len(days):
            raise ValueError("a threshold is listed twice")
        return sorted(days, reverse=True)

    _channels = field_validator("channels")(distinct_channels)
    _english = field_validator("text", "sms_text")(english_required)

    def threshold(self, days_left: int) -> int | None:
        """The threshold a password with `days_left` (1 or more) has reached: the smallest
        configured number of days not below it; None while it is further away."""
        reached = [d for d in self.days if d >= days_left]
        return min(reached) if reached and days_left >= 1 else None
