"""`[enrollment_drive]`: reminding users who have not enrolled, every few days, a few times.

The stock texts exist in every language pwreset ships; `[ENROLL_URL]` opens the enroll page
of the user's site with the account filled in.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pwreset.config.expiry_settings import NoticeChannel, distinct_channels, english_required
from pwreset.config.notify_settings import MailText

# The macros a reminder's subject, body and SMS text may use (besides [AD_USER], [AD_DOMAIN]).
REMINDER_MACROS = ("[ENROLL_URL]", "[REMINDER]", "[REMINDERS]")

_MAIL: dict[str, tuple[str, str]] = {
    "en": (
        "Please set up password self-service",
        "You ([AD_USER] in [AD_DOMAIN]) have not yet set up password self-service.\n\n"
        "Set it up now, while you still know your password, so that you can reset it "
        "yourself if you ever forget it:\n[ENROLL_URL]\n\n"
        "This is reminder [REMINDER] of [REMINDERS].",
    ),
    "de": (
        "Bitte richten Sie die Kennwort-Selbstbedienung ein",
        "Sie ([AD_USER] in [AD_DOMAIN]) haben die Kennwort-Selbstbedienung noch nicht "
        "eingerichtet.\n\nRichten Sie sie jetzt ein, solange Sie Ihr Kennwort noch kennen, "
        "damit Sie es selbst zurücksetzen können, falls Sie es vergessen:\n[ENROLL_URL]\n\n"
        "Dies ist Erinnerung [REMINDER] von [REMINDERS].",
    ),
    "fr": (
        "Veuillez configurer le libre-service de mot de passe",
        "Vous ([AD_USER] dans [AD_DOMAIN]) n'avez pas encore configuré le libre-service de "
        "mot de passe.\n\nConfigurez-le maintenant, tant que vous connaissez votre mot de "
        "passe, pour pouvoir le réinitialiser vous-même si vous l'oubliez :\n[ENROLL_URL]\n\n"
        "Ceci est le rappel [REMINDER] sur [REMINDERS].",
    ),
    "es": (
        "Configure el autoservicio de contraseñas",
        "Usted ([AD_USER] en [AD_DOMAIN]) aún no ha configurado el autoservicio de "
        "contraseñas.\n\nConfigúrelo ahora, mientras recuerda su contraseña, para poder "
        "restablecerla usted mismo si la olvida:\n[ENROLL_URL]\n\n"
        "Este es el recordatorio [REMINDER] de [REMINDERS].",
    ),
    "it": (
        "Configuri il self-service delle password",
        "Lei ([AD_USER] in [AD_DOMAIN]) non ha ancora configurato il self-service delle "
        "password.\n\nLo configuri ora, finché ricorda la password, per poterla reimpostare "
        "da solo se la dimentica:\n[ENROLL_URL]\n\n"
        "Questo è il promemoria [REMINDER] di [REMINDERS].",
    ),
    "nl": (
        "Stel de selfservice voor wachtwoorden in",
        "U ([AD_USER] in [AD_DOMAIN]) hebt de selfservice voor wachtwoorden nog niet "
        "ingesteld.\n\nStel deze nu in, nu u uw wachtwoord nog weet, zodat u het zelf kunt "
        "herstellen als u het vergeet:\n[ENROLL_URL]\n\n"
        "Dit is herinnering [REMINDER] van [REMINDERS].",
    ),
    "pt": (
        "Configure o self-service de palavras-passe",
        "Ainda não configurou ([AD_USER] em [AD_DOMAIN]) o self-service de "
        "palavras-passe.\n\nConfigure-o agora, enquanto sabe a sua palavra-passe, para a "
        "poder repor sozinho se a esquecer:\n[ENROLL_URL]\n\n"
        "Este é o lembrete [REMINDER] de [REMINDERS].",
    ),
    "pl": (
        "Skonfiguruj samoobsługę haseł",
        "Konto [AD_USER] w domenie [AD_DOMAIN] nie ma jeszcze skonfigurowanej samoobsługi "
        "haseł.\n\nSkonfiguruj ją teraz, póki pamiętasz hasło, aby móc je samodzielnie "
        "zresetować, jeśli je zapomnisz:\n[ENROLL_URL]\n\n"
        "To jest przypomnienie [REMINDER] z [REMINDERS].",
    ),
    "sv": (
        "Konfigurera självbetjäning för lösenord",
        "Du ([AD_USER] i [AD_DOMAIN]) har ännu inte konfigurerat självbetjäning för "
        "lösenord.\n\nGör det nu, medan du kommer ihåg ditt lösenord, så att du själv kan "
        "återställa det om du glömmer det:\n[ENROLL_URL]\n\n"
        "Detta är påminnelse [REMINDER] av [REMINDERS].",
    ),
    "ar": (
        "يرجى إعداد الخدمة الذاتية لكلمة المرور",
        "لم تقم ([AD_USER] في [AD_DOMAIN]) بإعداد الخدمة الذاتية لكلمة المرور بعد.\n\n"
        "أعدّها الآن ما دمت تعرف كلمة مرورك، لتتمكن من إعادة تعيينها بنفسك إن نسيتها:\n"
        "[ENROLL_URL]\n\nهذا هو التذكير [REMINDER] من [REMINDERS].",
    ),
}
_SMS: dict[str, str] = {
    "en": "[AD_USER]: please set up password self-service: [ENROLL_URL]",
    "de": "[AD_USER]: Bitte richten Sie die Kennwort-Selbstbedienung ein: [ENROLL_URL]",
    "fr": "[AD_USER] : configurez le libre-service de mot de passe : [ENROLL_URL]",
    "es": "[AD_USER]: configure el autoservicio de contraseñas: [ENROLL_URL]",
    "it": "[AD_USER]: configuri il self-service delle password: [ENROLL_URL]",
    "nl": "[AD_USER]: stel de selfservice voor wachtwoorden in: [ENROLL_URL]",
    "pt": "[AD_USER]: configure o self-service de palavras-passe: [ENROLL_URL]",
    "pl": "[AD_USER]: skonfiguruj samoobsługę haseł: [ENROLL_URL]",
    "sv": "[AD_USER]: konfigurera självbetjäning för lösenord: [ENROLL_URL]",
    "ar": "[AD_USER]: يرجى إعداد الخدمة الذاتية لكلمة المرور: [ENROLL_URL]",
}


def _stock_mail() -> dict[str, MailText]:
    return {lang: MailText(subject=s, body=b) for lang, (s, b) in _MAIL.items()}


class EnrollmentDriveSettings(BaseModel):
    """Reminders to users in scope (those the enroll permission lets enroll) who have not
    enrolled: every `every_days` days, at most `max_reminders` times, until they enroll."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    every_days: int = Field(default=7, ge=1, le=365)
    max_reminders: int = Field(default=3, ge=1, le=50)
    channels: list[NoticeChannel] = Field(default=["email"], min_length=1)
    # The e-mail's recipients, with the alerts' address macros (';'-separated). The user has
    # not enrolled, so only the directory's address is known.
    to: str = Field(default="[AD_EMAIL]", min_length=1)
    hour: int = Field(default=10, ge=0, le=23)
    # The site whose enroll page [ENROLL_URL] opens; "" = the first site offering `enroll`
    # for the user's domain.
    site: str = ""
    # The language of users without a preferredLanguage; "" = the site's default language.
    language: str = ""
    text: dict[str, MailText] = Field(default_factory=_stock_mail)
    sms_text: dict[str, str] = Field(default_factory=lambda: dict(_SMS))

    _channels = field_validator("channels")(distinct_channels)
    _english = field_validator("text", "sms_text")(english_required)
