"""E-mail delivery, verification-code mail and per-event alert settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AlertEvent = Literal[
    "enroll", "reset", "unlock", "change", "lockout", "recovery_code", "factor_change"
]
ALERT_EVENTS: tuple[str, ...] = get_args(AlertEvent)
_FROM = re.compile(r'^(".*"\s*)?<?[^@\s<>]+@[^@\s<>]+>?$')


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MailText(_Table):
    """Subject and body in one language. A body containing <html> is sent as HTML."""

    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(min_length=1)


class EmailSettings(_Table):
    delivery: Literal["smtp", "pickup", "off"] = "off"
    from_address: str = '"Password self-service" <pwreset@localhost>'
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout: float = Field(default=15.0, gt=0, le=120)
    # One RFC 5322 .eml file per message, for an MTA that watches the folder.
    pickup_dir: Path | None = None

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        if not _FROM.match(value.strip()):
            raise ValueError('use "Display Name" <mailbox@domain> or mailbox@domain')
        return value

    @model_validator(mode="after")
    def _delivery(self) -> EmailSettings:
        if self.delivery == "pickup" and self.pickup_dir is None:
            raise ValueError('delivery = "pickup" needs pickup_dir')
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("username needs password_env or password_file")
        return self


class CodeMail(_Table):
    """The verification-code message: [CODE] must appear in the subject or the body."""

    text: dict[str, MailText] = Field(
        default_factory=lambda: {
            "en": MailText(
                subject="Your verification code",
                body="Your verification code is [CODE].\n\nIf you did not ask for it, "
                "tell your IT service desk.",
            ),
            "de": MailText(
                subject="Ihr Bestätigungscode",
                body="Ihr Bestätigungscode lautet [CODE].\n\nWenn Sie ihn nicht angefordert "
                "haben, melden Sie sich bitte beim IT-Service.",
            ),
            "fr": MailText(
                subject="Votre code de vérification",
                body=(
                    "Votre code de vérification est [CODE].\n\nSi vous ne l'avez pas demandé, "
                    "prévenez votre service d'assistance informatique."
                ),
            ),
            "es": MailText(
                subject="Su código de verificación",
                body=(
                    "Su código de verificación es [CODE].\n\nSi no lo ha solicitado, avise al "
                    "servicio de asistencia informática."
                ),
            ),
            "it": MailText(
                subject="Il suo codice di verifica",
                body=(
                    "Il suo codice di verifica è [CODE].\n\nSe non lo ha richiesto, lo comunichi "
                    "all'help desk informatico."
                ),
            ),
            "nl": MailText(
                subject="Uw verificatiecode",
                body=(
                    "Uw verificatiecode is [CODE].\n\nHebt u deze niet aangevraagd, laat het dan "
                    "uw IT-servicedesk weten."
                ),
            ),
            "pt": MailText(
                subject="O seu código de verificação",
                body=(
                    "O seu código de verificação é [CODE].\n\nSe não o pediu, informe o serviço "
                    "de apoio informático."
                ),
            ),
            "pl": MailText(
                subject="Twój kod weryfikacyjny",
                body=(
                    "Twój kod weryfikacyjny to [CODE].\n\nJeśli nie wiesz, skąd ten kod, "
                    "poinformuj dział wsparcia IT."
                ),
            ),
            "sv": MailText(
                subject="Din verifieringskod",
                body=(
                    "Din verifieringskod är [CODE].\n\nOm du inte har begärt den, meddela "
                    "IT-supporten."
                ),
            ),
            "ar": MailText(
                subject="رمز التحقق الخاص بك",
                body=(
                    "رمز التحقق الخاص بك هو [CODE].\n\nإذا لم تطلبه، فأبلغ مكتب خدمة تقنية "
                    "المعلومات."
                ),
            ),
        }
    )

    @field_validator("text")
    @classmethod
    def _has_code(cls, text: dict[str, MailText]) -> dict[str, MailText]:
        if "en" not in text:
            raise ValueError("an English text (en) is required: it is the fallback")
        for lang, mail in text.items():
            if "[CODE]" not in mail.subject + mail.body:
                raise ValueError(f"{lang}: [CODE] must appear in the subject or the body")
        return text


class Alert(_Table):
    """An e-mail sent after an event. To and Bcc are ';'-separated and may use
    [AD_EMAIL], [APR_EMAIL], [AD_OR_APR_EMAIL], [APR_OR_AD_EMAIL] (or NPR_ spellings)."""

    enabled: bool = True
    on: Literal["success", "failure", "both"] = "success"
    to: str = "[AD_OR_APR_EMAIL]"
    bcc: str = ""
    text: dict[str, MailText]

    @field_validator("text")
    @classmethod
    def _english(cls, text: dict[str, MailText]) -> dict[str, MailText]:
        if "en" not in text:
            raise ValueError("an English text (en) is required: it is the fallback")
        return text


class NotifySettings(_Table):
    email: EmailSettings = EmailSettings()
    code_mail: CodeMail = CodeMail()
    alerts: dict[AlertEvent, Alert] = {}


# Sent unless configured otherwise (security review 11): with e-mail delivery on, the user
# hears of every reset, unlock, lockout and enrollment of the account, at the directory's
# address first, so a takeover does not go unnoticed.
_NOT_YOU = {
    "en": "If this was not you, contact your IT service desk at once.",
    "de": "Wenn Sie das nicht waren, wenden Sie sich sofort an Ihren IT-Service.",
    "fr": (
        "Si ce n'était pas vous, contactez immédiatement votre service d'assistance informatique."
    ),
    "es": (
        "Si no ha sido usted, póngase en contacto de inmediato con el servicio de asistencia "
        "informática."
    ),
    "it": "Se non è stato lei, contatti subito l'help desk informatico.",
    "nl": "Was u dit niet, neem dan direct contact op met uw IT-servicedesk.",
    "pt": "Se não foi você, contacte imediatamente o serviço de apoio informático.",
    "pl": "Jeśli to nie Ty, natychmiast skontaktuj się z działem wsparcia IT.",
    "sv": "Om det inte var du, kontakta IT-supporten omedelbart.",
    "ar": "إذا لم تكن أنت من قام بذلك، فتواصل فورًا مع مكتب خدمة تقنية المعلومات.",
}
_STOCK_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "enroll": {
        "en": (
            "Security questions set up for your account",
            "The security questions of [AD_USER] in [AD_DOMAIN] were set up on the password "
            "self-service page.",
        ),
        "de": (
            "Sicherheitsfragen für Ihr Konto eingerichtet",
            "Die Sicherheitsfragen von [AD_USER] in [AD_DOMAIN] wurden auf der Seite zur "
            "Kennwort-Selbstbedienung eingerichtet.",
        ),
        "fr": (
            "Questions de sécurité définies pour votre compte",
            "Les questions de sécurité de [AD_USER] dans [AD_DOMAIN] ont été définies sur la "
            "page de mot de passe en libre-service.",
        ),
        "es": (
            "Preguntas de seguridad configuradas para su cuenta",
            "Las preguntas de seguridad de [AD_USER] en [AD_DOMAIN] se han configurado en la "
            "página de autoservicio de contraseñas.",
        ),
        "it": (
            "Domande di sicurezza configurate per il suo account",
            "Le domande di sicurezza di [AD_USER] in [AD_DOMAIN] sono state configurate "
            "sulla pagina self-service delle password.",
        ),
        "nl": (
            "Beveiligingsvragen ingesteld voor uw account",
            "De beveiligingsvragen van [AD_USER] in [AD_DOMAIN] zijn ingesteld op de "
            "selfservicepagina voor wachtwoorden.",
        ),
        "pt": (
            "Perguntas de segurança configuradas para a sua conta",
            "As perguntas de segurança de [AD_USER] em [AD_DOMAIN] foram configuradas na "
            "página de self-service de palavras-passe.",
        ),
        "pl": (
            "Pytania zabezpieczające ustawione dla Twojego konta",
            "Pytania zabezpieczające konta [AD_USER] w domenie [AD_DOMAIN] zostały ustawione "
            "na stronie samoobsługi haseł.",
        ),
        "sv": (
            "Säkerhetsfrågor inställda för ditt konto",
            "Säkerhetsfrågorna för [AD_USER] i [AD_DOMAIN] har ställts in på sidan för "
            "självbetjäning av lösenord.",
        ),
        "ar": (
            "تم إعداد أسئلة الأمان لحسابك",
            "تم إعداد أسئلة الأمان للحساب [AD_USER] في النطاق [AD_DOMAIN] على صفحة الخدمة "
            "الذاتية لكلمات المرور.",
        ),
    },
    "reset": {
        "en": (
            "Your password was reset",
            "The password of [AD_USER] in [AD_DOMAIN] was reset on the password self-service page.",
        ),
        "de": (
            "Ihr Kennwort wurde zurückgesetzt",
            "Das Kennwort von [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur "
            "Kennwort-Selbstbedienung zurückgesetzt.",
        ),
        "fr": (
            "Votre mot de passe a été réinitialisé",
            "Le mot de passe de [AD_USER] dans [AD_DOMAIN] a été réinitialisé sur la page de "
            "mot de passe en libre-service.",
        ),
        "es": (
            "Se ha restablecido su contraseña",
            "La contraseña de [AD_USER] en [AD_DOMAIN] se ha restablecido en la página de "
            "autoservicio de contraseñas.",
        ),
        "it": (
            "La sua password è stata reimpostata",
            "La password di [AD_USER] in [AD_DOMAIN] è stata reimpostata sulla pagina "
            "self-service delle password.",
        ),
        "nl": (
            "Uw wachtwoord is opnieuw ingesteld",
            "Het wachtwoord van [AD_USER] in [AD_DOMAIN] is opnieuw ingesteld op de "
            "selfservicepagina voor wachtwoorden.",
        ),
        "pt": (
            "A sua palavra-passe foi reposta",
            "A palavra-passe de [AD_USER] em [AD_DOMAIN] foi reposta na página de "
            "self-service de palavras-passe.",
        ),
        "pl": (
            "Twoje hasło zostało zresetowane",
            "Hasło konta [AD_USER] w domenie [AD_DOMAIN] zostało zresetowane na stronie "
            "samoobsługi haseł.",
        ),
        "sv": (
            "Ditt lösenord har återställts",
            "Lösenordet för [AD_USER] i [AD_DOMAIN] har återställts på sidan för "
            "självbetjäning av lösenord.",
        ),
        "ar": (
            "تمت إعادة تعيين كلمة مرورك",
            "تمت إعادة تعيين كلمة مرور الحساب [AD_USER] في النطاق [AD_DOMAIN] على صفحة "
            "الخدمة الذاتية لكلمات المرور.",
        ),
    },
    "unlock": {
        "en": (
            "Your account was unlocked",
            "The account [AD_USER] in [AD_DOMAIN] was unlocked on the password self-service page.",
        ),
        "de": (
            "Ihr Konto wurde entsperrt",
            "Das Konto [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur "
            "Kennwort-Selbstbedienung entsperrt.",
        ),
        "fr": (
            "Votre compte a été débloqué",
            "Le compte [AD_USER] dans [AD_DOMAIN] a été débloqué sur la page de mot de passe "
            "en libre-service.",
        ),
        "es": (
            "Se ha desbloqueado su cuenta",
            "La cuenta [AD_USER] en [AD_DOMAIN] se ha desbloqueado en la página de "
            "autoservicio de contraseñas.",
        ),
        "it": (
            "Il suo account è stato sbloccato",
            "L'account [AD_USER] in [AD_DOMAIN] è stato sbloccato sulla pagina self-service "
            "delle password.",
        ),
        "nl": (
            "Uw account is ontgrendeld",
            "Het account [AD_USER] in [AD_DOMAIN] is ontgrendeld op de selfservicepagina "
            "voor wachtwoorden.",
        ),
        "pt": (
            "A sua conta foi desbloqueada",
            "A conta [AD_USER] em [AD_DOMAIN] foi desbloqueada na página de self-service de "
            "palavras-passe.",
        ),
        "pl": (
            "Twoje konto zostało odblokowane",
            "Konto [AD_USER] w domenie [AD_DOMAIN] zostało odblokowane na stronie "
            "samoobsługi haseł.",
        ),
        "sv": (
            "Ditt konto har låsts upp",
            "Kontot [AD_USER] i [AD_DOMAIN] har låsts upp på sidan för självbetjäning av lösenord.",
        ),
        "ar": (
            "تم إلغاء قفل حسابك",
            "تم إلغاء قفل الحساب [AD_USER] في النطاق [AD_DOMAIN] على صفحة الخدمة الذاتية "
            "لكلمات المرور.",
        ),
    },
    "lockout": {
        "en": (
            "Password self-service locked for your account",
            "Too many wrong answers or codes were given for [AD_USER] in [AD_DOMAIN], so "
            "password self-service is locked for this account for now.",
        ),
        "de": (
            "Kennwort-Selbstbedienung für Ihr Konto gesperrt",
            "Für [AD_USER] in [AD_DOMAIN] wurden zu viele falsche Antworten oder Codes "
            "eingegeben, daher ist die Kennwort-Selbstbedienung für dieses Konto vorerst "
            "gesperrt.",
        ),
        "fr": (
            "Libre-service de mot de passe bloqué pour votre compte",
            "Trop de réponses ou de codes erronés ont été saisis pour [AD_USER] dans "
            "[AD_DOMAIN] ; le libre-service de mot de passe est donc bloqué pour ce compte "
            "pour le moment.",
        ),
        "es": (
            "Autoservicio de contraseñas bloqueado para su cuenta",
            "Se han introducido demasiadas respuestas o códigos incorrectos para [AD_USER] "
            "en [AD_DOMAIN], por lo que el autoservicio de contraseñas está bloqueado por "
            "ahora para esta cuenta.",
        ),
        "it": (
            "Self-service delle password bloccato per il suo account",
            "Per [AD_USER] in [AD_DOMAIN] sono state inserite troppe risposte o troppi "
            "codici errati, quindi il self-service delle password è per ora bloccato per "
            "questo account.",
        ),
        "nl": (
            "Wachtwoord-selfservice vergrendeld voor uw account",
            "Voor [AD_USER] in [AD_DOMAIN] zijn te veel verkeerde antwoorden of codes "
            "opgegeven, daarom is de wachtwoord-selfservice voor dit account voorlopig "
            "vergrendeld.",
        ),
        "pt": (
            "Self-service de palavras-passe bloqueado para a sua conta",
            "Foram introduzidas demasiadas respostas ou códigos errados para [AD_USER] em "
            "[AD_DOMAIN], por isso o self-service de palavras-passe está bloqueado para esta "
            "conta por agora.",
        ),
        "pl": (
            "Samoobsługa haseł zablokowana dla Twojego konta",
            "Dla konta [AD_USER] w domenie [AD_DOMAIN] podano zbyt wiele błędnych odpowiedzi "
            "lub kodów, dlatego samoobsługa haseł jest na razie zablokowana dla tego konta.",
        ),
        "sv": (
            "Självbetjäning av lösenord låst för ditt konto",
            "För många felaktiga svar eller koder angavs för [AD_USER] i [AD_DOMAIN], så "
            "självbetjäningen av lösenord är låst för det här kontot tills vidare.",
        ),
        "ar": (
            "قُفلت الخدمة الذاتية لكلمات المرور لحسابك",
            "أُدخلت إجابات أو رموز خاطئة كثيرة للحساب [AD_USER] في النطاق [AD_DOMAIN]، لذا "
            "قُفلت الخدمة الذاتية لكلمات المرور لهذا الحساب مؤقتًا.",
        ),
    },
    "recovery_code": {
        "en": (
            "A recovery code of your account was used",
            "A recovery code of [AD_USER] in [AD_DOMAIN] was used on the password self-service "
            "page. Codes left: [CODES_LEFT].",
        ),
        "de": (
            "Ein Wiederherstellungscode Ihres Kontos wurde verwendet",
            "Ein Wiederherstellungscode von [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur "
            "Kennwort-Selbstbedienung verwendet. Verbleibende Codes: [CODES_LEFT].",
        ),
        "fr": (
            "Un code de récupération de votre compte a été utilisé",
            "Un code de récupération de [AD_USER] dans [AD_DOMAIN] a été utilisé sur la page "
            "de mot de passe en libre-service. Codes restants : [CODES_LEFT].",
        ),
        "es": (
            "Se ha usado un código de recuperación de su cuenta",
            "Se ha usado un código de recuperación de [AD_USER] en [AD_DOMAIN] en la página de "
            "autoservicio de contraseñas. Códigos restantes: [CODES_LEFT].",
        ),
        "it": (
            "È stato usato un codice di recupero del suo account",
            "È stato usato un codice di recupero di [AD_USER] in [AD_DOMAIN] sulla pagina "
            "self-service delle password. Codici rimasti: [CODES_LEFT].",
        ),
        "nl": (
            "Er is een herstelcode van uw account gebruikt",
            "Er is een herstelcode van [AD_USER] in [AD_DOMAIN] gebruikt op de "
            "selfservicepagina voor wachtwoorden. Resterende codes: [CODES_LEFT].",
        ),
        "pt": (
            "Foi usado um código de recuperação da sua conta",
            "Foi usado um código de recuperação de [AD_USER] em [AD_DOMAIN] na página de "
            "self-service de palavras-passe. Códigos restantes: [CODES_LEFT].",
        ),
        "pl": (
            "Użyto kodu odzyskiwania Twojego konta",
            "Na stronie samoobsługi haseł użyto kodu odzyskiwania konta [AD_USER] w domenie "
            "[AD_DOMAIN]. Pozostałe kody: [CODES_LEFT].",
        ),
        "sv": (
            "En återställningskod för ditt konto har använts",
            "En återställningskod för [AD_USER] i [AD_DOMAIN] användes på sidan för "
            "självbetjäning av lösenord. Koder kvar: [CODES_LEFT].",
        ),
        "ar": (
            "اُستخدم رمز استرداد لحسابك",
            "اُستخدم رمز استرداد للحساب [AD_USER] في النطاق [AD_DOMAIN] على صفحة الخدمة "
            "الذاتية لكلمات المرور. الرموز المتبقية: [CODES_LEFT].",
        ),
    },
    "factor_change": {
        "en": (
            "The ways to reset your password were changed",
            "An authenticator app, recovery codes or a passkey of [AD_USER] in [AD_DOMAIN] were "
            "set up, replaced or removed on the password self-service page.",
        ),
        "de": (
            "Die Wege zum Zurücksetzen Ihres Passworts wurden geändert",
            "Für [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur Kennwort-Selbstbedienung eine "
            "Authenticator-App, ein Passkey oder wurden Wiederherstellungscodes eingerichtet, "
            "ersetzt oder entfernt.",
        ),
        "fr": (
            "Les moyens de réinitialiser votre mot de passe ont été modifiés",
            "Une application d'authentification, des codes de récupération ou une clé d'accès "
            "de [AD_USER] dans [AD_DOMAIN] ont été configurés, remplacés ou supprimés sur la "
            "page de mot de passe en libre-service.",
        ),
        "es": (
            "Se han cambiado las formas de restablecer su contraseña",
            "Se ha configurado, sustituido o eliminado una aplicación de autenticación, "
            "códigos de recuperación o una llave de acceso de [AD_USER] en [AD_DOMAIN] en la "
            "página de autoservicio de contraseñas.",
        ),
        "it": (
            "I modi per reimpostare la password sono cambiati",
            "Un'app di autenticazione, i codici di recupero o una passkey di [AD_USER] in "
            "[AD_DOMAIN] sono stati configurati, sostituiti o rimossi sulla pagina self-service "
            "delle password.",
        ),
        "nl": (
            "De manieren om uw wachtwoord opnieuw in te stellen zijn gewijzigd",
            "Een authenticator-app, herstelcodes of een toegangssleutel van [AD_USER] in "
            "[AD_DOMAIN] zijn ingesteld, vervangen of verwijderd op de selfservicepagina voor "
            "wachtwoorden.",
        ),
        "pt": (
            "As formas de repor a sua palavra-passe foram alteradas",
            "Uma aplicação de autenticação, códigos de recuperação ou uma chave de acesso de "
            "[AD_USER] em [AD_DOMAIN] foram configurados, substituídos ou removidos na página "
            "de self-service de palavras-passe.",
        ),
        "pl": (
            "Zmieniono sposoby resetowania hasła",
            "Na stronie samoobsługi haseł skonfigurowano, zastąpiono lub usunięto aplikację "
            "uwierzytelniającą, kody odzyskiwania lub klucz dostępu konta [AD_USER] w domenie "
            "[AD_DOMAIN].",
        ),
        "sv": (
            "Sätten att återställa ditt lösenord har ändrats",
            "En autentiseringsapp, återställningskoder eller en nyckel för [AD_USER] i "
            "[AD_DOMAIN] har konfigurerats, ersatts eller tagits bort på sidan för "
            "självbetjäning av lösenord.",
        ),
        "ar": (
            "تم تغيير طرق إعادة تعيين كلمة المرور",
            "تم إعداد تطبيق مصادقة أو رموز استرداد أو مفتاح مرور للحساب [AD_USER] في النطاق "
            "[AD_DOMAIN] أو استبدالها أو إزالتها على صفحة الخدمة الذاتية لكلمات المرور.",
        ),
    },
}
STOCK_ALERT_EVENTS = tuple(_STOCK_TEXTS)


def _stock_text(event: str) -> dict[str, dict[str, str]]:
    return {
        lang: {"subject": subject, "body": f"{body}\n\n{_NOT_YOU[lang]}"}
        for lang, (subject, body) in _STOCK_TEXTS[event].items()
    }


def with_stock_alerts(value: Any) -> Any:
    """The `[alerts]` tables as configured, plus the stock alert of every stock event not
    configured; a configured stock event without texts gets the stock texts, so
    `[alerts.unlock] enabled = false` alone switches one off."""
    if not isinstance(value, Mapping):
        return value  # the schema reports the wrong type
    tables = dict(value)
    for event in STOCK_ALERT_EVENTS:
        table = tables.get(event)
        if table is None:
            tables[event] = {"text": _stock_text(event)}
        elif isinstance(table, Mapping) and "text" not in table:
            tables[event] = {**table, "text": _stock_text(event)}
    return tables


def stock_alerts() -> dict[str, Alert]:
    """The alerts of a configuration without `[alerts]` tables."""
    return {event: Alert(text=_stock_text(event)) for event in STOCK_ALERT_EVENTS}
