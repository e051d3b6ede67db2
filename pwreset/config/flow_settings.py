"""Settings of the enroll, reset, unlock and change flows (the backend's console tabs).

Defaults and ranges follow the original product where it documents them, and a safe
proposal where it does not (see reference/apr-3.23.md §2).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pwreset.protocol.limits import FIELD_LIMITS, MAX_QUESTIONS

DEFAULT_QUESTIONS: dict[str, list[str]] = {
    "en": [
        "What was the name of your first pet?",
        "In which town did you grow up?",
        "What was the name of your first school?",
        "What is the first name of your oldest cousin?",
        "What was the make of your first car or bicycle?",
        "In which street did you live when you were ten?",
        "What is the middle name of your oldest sibling?",
        "What was the first concert you went to?",
    ],
    "de": [
        "Wie hieß Ihr erstes Haustier?",
        "In welcher Stadt sind Sie aufgewachsen?",
        "Wie hieß Ihre erste Schule?",
        "Wie heißt Ihr ältester Cousin oder Ihre älteste Cousine?",
        "Welche Marke hatte Ihr erstes Auto oder Fahrrad?",
        "In welcher Straße haben Sie mit zehn Jahren gewohnt?",
        "Wie lautet der zweite Vorname Ihres ältesten Geschwisters?",
        "Welches war das erste Konzert, das Sie besucht haben?",
    ],
    "fr": [
        "Quel était le nom de votre premier animal de compagnie ?",
        "Dans quelle ville avez-vous grandi ?",
        "Quel était le nom de votre première école ?",
        "Quel est le prénom de votre cousin ou cousine le plus âgé ?",
        "De quelle marque était votre première voiture ou bicyclette ?",
        "Dans quelle rue habitiez-vous à l'âge de dix ans ?",
        "Quel est le deuxième prénom de votre aîné(e) ?",
        "Quel a été le premier concert auquel vous avez assisté ?",
    ],
    "es": [
        "¿Cómo se llamaba su primera mascota?",
        "¿En qué ciudad creció?",
        "¿Cómo se llamaba su primer colegio?",
        "¿Cuál es el nombre de pila de su primo o prima mayor?",
        "¿De qué marca era su primer coche o bicicleta?",
        "¿En qué calle vivía cuando tenía diez años?",
        "¿Cuál es el segundo nombre de su hermano o hermana mayor?",
        "¿Cuál fue el primer concierto al que asistió?",
    ],
    "it": [
        "Come si chiamava il suo primo animale domestico?",
        "In quale città ha trascorso l'infanzia?",
        "Come si chiamava la sua prima scuola?",
        "Qual è il nome del suo cugino o della sua cugina più grande?",
        "Di che marca era la sua prima auto o bicicletta?",
        "In quale via abitava quando aveva dieci anni?",
        "Qual è il secondo nome del suo fratello o sorella maggiore?",
        "Qual è stato il primo concerto a cui ha assistito?",
    ],
    "nl": [
        "Hoe heette uw eerste huisdier?",
        "In welke plaats bent u opgegroeid?",
        "Hoe heette uw eerste school?",
        "Wat is de voornaam van uw oudste neef of nicht?",
        "Welk merk was uw eerste auto of fiets?",
        "In welke straat woonde u toen u tien was?",
        "Wat is de tweede voornaam van uw oudste broer of zus?",
        "Wat was het eerste concert waar u naartoe ging?",
    ],
    "pt": [
        "Qual era o nome do seu primeiro animal de estimação?",
        "Em que cidade cresceu?",
        "Qual era o nome da sua primeira escola?",
        "Qual é o nome próprio do seu primo ou prima mais velho?",
        "De que marca era o seu primeiro carro ou bicicleta?",
        "Em que rua morava quando tinha dez anos?",
        "Qual é o segundo nome do seu irmão ou irmã mais velho?",
        "Qual foi o primeiro concerto a que assistiu?",
    ],
    "pl": [
        "Jak miało na imię Twoje pierwsze zwierzę domowe?",
        "Jak nazywa się miasto Twojego dzieciństwa?",
        "Jak nazywała się Twoja pierwsza szkoła?",
        "Jakie imię nosi Twój najstarszy kuzyn lub kuzynka?",
        "Jakiej marki był Twój pierwszy samochód lub rower?",
        "Przy jakiej ulicy mieszkałeś(-aś) w wieku dziesięciu lat?",
        "Jakie jest drugie imię Twojego najstarszego rodzeństwa?",
        "Jaki był Twój pierwszy koncert?",
    ],
    "sv": [
        "Vad hette ditt första husdjur?",
        "I vilken stad växte du upp?",
        "Vad hette din första skola?",
        "Vad heter din äldsta kusin i förnamn?",
        "Vilket märke var din första bil eller cykel?",
        "På vilken gata bodde du när du var tio år?",
        "Vad är mellannamnet på ditt äldsta syskon?",
        "Vilken var den första konserten du gick på?",
    ],
    "ar": [
        "ما اسم أول حيوان أليف اقتنيته؟",
        "في أي مدينة نشأت؟",
        "ما اسم أول مدرسة التحقت بها؟",
        "ما الاسم الأول لأكبر أبناء عمومتك أو أخوالك سنًا؟",
        "ما نوع أول سيارة أو دراجة امتلكتها؟",
        "في أي شارع كنت تسكن عندما كان عمرك عشر سنوات؟",
        "ما الاسم الأوسط لأكبر إخوتك سنًا؟",
        "ما أول حفل موسيقي حضرته؟",
    ],
}


# The stock SMS text, `[TEXT]` in sms_command, with [CODE] filled in. Short: a text in a
# non-Latin script fits 70 characters in one message.
DEFAULT_SMS_TEXTS: dict[str, str] = {
    "en": "Your verification code: [CODE]",
    "de": "Ihr Bestätigungscode: [CODE]",
    "fr": "Votre code de vérification\u00a0: [CODE]",
    "es": "Su código de verificación: [CODE]",
    "it": "Il suo codice di verifica: [CODE]",
    "nl": "Uw verificatiecode: [CODE]",
    "pt": "O seu código de verificação: [CODE]",
    "pl": "Twój kod weryfikacyjny: [CODE]",
    "sv": "Din verifieringskod: [CODE]",
    "ar": "رمز التحقق الخاص بك: [CODE]",
}


# The most resets and unlocks a cap may allow in its window (and so the most remembered).
MAX_RECOVERIES = 100

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Permission(_Table):
    """Who may use a flow: everybody, only members of `groups`, or all except them.

    Groups are names (cn / sAMAccountName) or DNs; nested membership counts.
    """

    allow: Literal["all", "only", "except"] = "all"
    groups: list[str] = []

    @model_validator(mode="after")
    def _groups_named(self) -> Permission:
        if self.allow != "all" and not self.groups:
            raise ValueError(f'allow = "{self.allow}" needs at least one group in groups')
        return self


class EnrollSettings(_Table):
    questions: int = Field(default=3, ge=1, le=MAX_QUESTIONS)
    # Counting letters and digits only, as answers are compared without the rest.
    min_answer_chars: int = Field(default=3, ge=1, le=20)
    email: Literal["off", "optional", "required"] = "off"
    # Contacts copied from the user's directory entry (mail, mobile) when they enroll, so
    # they need not type them: codes then go to these copies, and a later change of the
    # attribute redirects nothing until the user enrolls again. "email" replaces the typed
    # address (the page stops asking for it).
    contacts_from_directory: list[Literal["email", "phone"]] = Field(default_factory=list)
    # Users type their own questions instead of picking from the list: true or false for
    # all, or one per question (`[false, true, true]`: the first picked from the list, the
    # others typed; apr checklist 28).
    custom_questions: bool | list[bool] = False
    question_list: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_QUESTIONS))
    permission: Permission = Permission()

    @field_validator("contacts_from_directory")
    @classmethod
    def _contacts(cls, contacts: list[str]) -> list[str]:
        if len(set(contacts)) != len(contacts):
            raise ValueError("a contact is named twice")
        return contacts

    @field_validator("question_list")
    @classmethod
    def _lists(cls, lists: dict[str, list[str]]) -> dict[str, list[str]]:
        if "en" not in lists:
            raise ValueError("an English list (en) is required: it is the fallback")
        for lang, questions in lists.items():
            if len(set(questions)) != len(questions):
                raise ValueError(f"the {lang} list repeats a question")
            most = FIELD_LIMITS["question"]
            for question in questions:
                if not question.strip() or len(question) > most:
                    raise ValueError(f"{lang}: questions must be 1-{most} characters: {question!r}")
        return lists

    @model_validator(mode="after")
    def _enough_questions(self) -> EnrollSettings:
        if isinstance(self.custom_questions, list) and (
            len(self.custom_questions) != self.questions
        ):
            raise ValueError(
                f"custom_questions has {len(self.custom_questions)} entries for "
                f"{self.questions} questions: give one true (typed by the user) or false "
                "(picked from question_list) per question, or one true or false for all"
            )
        picked = sum(not self.typed(slot) for slot in range(self.questions))
        for lang, questions in self.question_list.items():
            if len(questions) < picked:
                raise ValueError(
                    f"question_list.{lang} has {len(questions)} questions; "
                    f"users must pick {picked} different ones"
                )
        return self

    def typed(self, slot: int) -> bool:
        """Whether the user types question `slot` (0-based) instead of picking it."""
        if isinstance(self.custom_questions, bool):
            return self.custom_questions
        return self.custom_questions[slot]


class ChangeSettings(_Table):
    permission: Permission = Permission()


class SecuritySettings(_Table):
    # Seconds of inactivity after which a multi-step flow must start again; 0 = never.
    idle_timeout: int = Field(default=300, ge=0, le=3600)
    # Wrong answers (and wrong codes, if counted) before pwreset locks the user out of
    # reset and unlock; 0 = never. Re-enrolling or `pwreset users unlock` lifts it.
    lockout_threshold: int = Field(default=5, ge=0, le=100)
    # Minutes after the last wrong answer at which the wrong answers are forgotten and a
    # lockout ends, so nobody can lock a user out for ever; 0 = until lifted by hand.
    lockout_minutes: int = Field(default=30, ge=0, le=10080)
    # After the second wrong answer in a row, each further try waits this many seconds,
    # doubled per wrong answer (at most 15 minutes); 0 = no slowdown.
    failure_delay: float = Field(default=2.0, ge=0, le=60)
    # Replies to reset and unlock steps take at least this long, whoever is asked for, so
    # timing does not tell who exists or enrolled; 0 = off.
    reply_floor_ms: int = Field(default=250, ge=0, le=5000)
    must_change_after_reset: bool = False
    # Apply the directory's history and minimum age to resets too (AD: policy hints).
    enforce_directory_history: bool = False
    # pwreset's own minimum age between resets, in days; 0 = off.
    min_reset_age_days: int = Field(default=0, ge=0, le=365)
    # Successful resets and unlocks one user may make in recovery_window_days; 0 = no cap.
    # Told only to a user who has answered every question (and code): nobody else learns
    # that the account exists or is enrolled.
    max_recoveries: int = Field(default=0, ge=0, le=MAX_RECOVERIES)
    recovery_window_days: int = Field(default=1, ge=1, le=365)

    @model_validator(mode="after")
    def _window_has_a_cap(self) -> SecuritySettings:
        if "recovery_window_days" in self.model_fields_set and not self.max_recoveries:
            raise ValueError(
                "recovery_window_days is the window of max_recoveries, which is 0 (no cap): "
                "set max_recoveries too, or leave the window out"
            )
        return self


class VerificationSettings(_Table):
    enabled: bool = False
    length: int = Field(default=6, ge=4, le=12)
    charset: Literal["numeric", "alphanumeric"] = "numeric"
    # Minutes a code stays valid; 0 = until used or replaced.
    expiry_minutes: int = Field(default=10, ge=0, le=1440)
    email: bool = True
    email_to: Literal["directory", "enrolled", "both"] = "both"
    email_attribute: str = "mail"
    sms: bool = False
    # argv of the SMS program; [CODE] [PHONE] [USERNAME] [DOMAIN] [LANG] are replaced in
    # each argument. Never run through a shell.
    sms_command: list[str] = []
    sms_timeout: float = Field(default=20.0, gt=0, le=120)
    # Per language, `[TEXT]` in sms_command; [CODE] must appear in each, `en` is required.
    sms_text: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SMS_TEXTS))
    # Environment variables passed to the SMS program besides PATH, HOME, LANG, LANGUAGE,
    # LC_*, TZ and TMPDIR (say an API token or HTTPS_PROXY). Nothing else is inherited.
    sms_env: list[str] = []
    phone_attribute: str = "mobile"
    mask_destinations: bool = True
    # Let enrolled users go on without a code when none can be sent.
    fallback_without_code: bool = False
    lockout_on_wrong_code: bool = False
    # Wrong tries one code survives; then it is dead and a new one must be requested
    # (lockout_on_wrong_code only decides whether they also count toward the lockout).
    max_code_attempts: int = Field(default=3, ge=1, le=10)
    # Seconds before another code is sent to the same user or destination; a start in
    # between shows the code step again and the code already sent still works.
    code_cooldown: int = Field(default=60, ge=0, le=3600)
    # Codes sent per user in 24 hours, and to one address or phone (which several accounts
    # may share); 0 = no cap.
    max_codes_per_day: int = Field(default=5, ge=0, le=100)
    max_codes_per_destination_per_day: int = Field(default=10, ge=0, le=1000)
    # Users who never enrolled may reset and unlock with a code alone.
    auto_enroll: bool = False

    @field_validator("sms_text")
    @classmethod
    def _sms_texts(cls, texts: dict[str, str]) -> dict[str, str]:
        if "en" not in texts:
            raise ValueError("an English text (en) is required: it is the fallback")
        for lang, text in texts.items():
            if "[CODE]" not in text:
                raise ValueError(f"{lang}: [CODE] must appear in the text")
        return texts

    @field_validator("sms_env")
    @classmethod
    def _env_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return names

    @model_validator(mode="after")
    def _channels(self) -> VerificationSettings:
        if self.sms and not self.sms_command:
            raise ValueError("sms = true needs sms_command")
        if self.enabled and not (self.email or self.sms):
            raise ValueError("enable e-mail or SMS (or both) to send codes")
        if self.auto_enroll and not self.enabled:
            raise ValueError("auto_enroll needs enabled = true: codes are its only check")
        return self


class TotpSettings(_Table):
    """Authenticator apps (TOTP, RFC 6238): 6 digits every 30 seconds, as every app shows."""

    # Codes of this many 30-second steps before and after the server's clock are accepted:
    # a phone's clock a little off still works. 0 accepts only the current code.
    drift: int = Field(default=1, ge=0, le=10)
    # The name the app lists the account under, beside the user's name.
    issuer: str = Field(default="Password self-service", min_length=1, max_length=64)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if ":" in value or not value.isprintable():
            raise ValueError("the issuer may not contain a colon or a control character")
        return value


class ApiSettings(_Table):
    # GET enrollments/...: off by default, as it tells who is enrolled.
    enrollment_status: bool = False
