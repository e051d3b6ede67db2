"""Enroll, reset and unlock in a real browser against the HTTP contract, with Playwright
answering the API (the end-to-end runs against the relay and a directory live elsewhere)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route
from static_site import serve

from pwreset.builder import build_sites
from pwreset.config.loader import parse_config

pytestmark = pytest.mark.browser

SITES = {
    "hr": {"title": "HR", "domains": ["EXAMPLE", "LAB"], "languages": ["en", "de"]},
    "it": {"title": "IT", "flows": ["reset", "change"]},
}
# A policy as the backend sends it (PasswordPolicy.describe, docs/passwords.md).
POLICY = {"version": 1, "rules": [{"id": "min_length", "message": "RES_RULE_MIN_LENGTH",
                                   "params": {"n": 12}, "checked_by": "page"}]}  # fmt: skip
QUESTIONS = {"en": ["Pet?", "Town?", "School?", "Car?"], "de": ["Haustier?", "Stadt?", "Schule?"]}


def meta(**enroll: Any) -> dict[str, Any]:
    settings = {"questions": 3, "min_answer_chars": 3, "email": "off",
                "custom_questions": False, "max_question_length": 64,
                "question_list": QUESTIONS, **enroll}  # fmt: skip
    return {"site": "hr", "flows": ["enroll", "reset", "unlock", "change"], "enroll": settings}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("instance")
    build_sites(parse_config(json.loads(json.dumps({"sites": SITES})), root / "pwreset.toml"))
    with serve(root / "site") as url:
        yield url


class Api:
    """Answers the page's API calls from a script, and records what the page sent."""

    def __init__(self, page: Page, replies: dict[str, list[tuple[int, Any]]]) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.replies = replies
        page.route("**/api/v1/**", self.answer)

    def answer(self, route: Route) -> None:
        path = route.request.url.split("/api/v1/")[1]
        if path == "meta" and path not in self.replies:
            # The change form asks for its password rules; a script may leave them out.
            route.fulfill(status=200, content_type="application/json", body=json.dumps(meta()))
            return
        body = route.request.post_data_json if route.request.method == "POST" else None
        self.sent.append((path, body))
        status, reply = self.replies[path].pop(0)
        kind = "application/json" if status < 400 else "application/problem+json"
        route.fulfill(status=status, content_type=kind, body=json.dumps(reply))


def problem(message: str, **params: str) -> tuple[int, dict[str, Any]]:
    return 422, {"status": 422, "detail": message, "message": message, "params": params}


def step(kind: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"flow": f"token-{kind}-{fields.get('index', 0)}", "step": {"kind": kind, **fields}}


def text_of(page: Page, message_id: str) -> str:
    return page.locator(f'#pw-messages [data-msg="{message_id}"]').inner_text().strip()


def alert(page: Page) -> str:
    box = page.locator('[data-state="error"]')
    box.wait_for()
    return box.inner_text().strip()


def test_reset_goes_step_by_step_and_keeps_the_token(page: Page, site: str) -> None:
    api = Api(page, {
        "reset/start": [step("question", index=1, total=2, prompt="Pet?")],
        "reset/step": [
            problem("RES_WRONG_ANSWER"),
            step("question", index=2, total=2, prompt="Town?"),
            step("code", destinations=["j***@ex***.org", "*******0199"]),
            step("password", policy=POLICY),
            problem("RES_POLICY_REJECTED", reason="Contains your name"),
            (200, {"status": "done", "message": "RES_FINISHED_RESET"}),
        ],
    })  # fmt: skip
    page.goto(f"{site}/hr/reset.html?username=jsmith&domain=lab")
    assert page.locator("#pw-domain").input_value() == "LAB"
    page.get_by_role("button", name="Next").click()

    page.get_by_role("heading", name="Question 1 of 2").wait_for()
    assert page.evaluate("document.activeElement.id") == "pw-answer"
    page.get_by_label("Pet?").fill("Rex")
    page.get_by_role("button", name="Next").click()
    assert alert(page) == text_of(page, "RES_WRONG_ANSWER")
    assert page.get_by_label("Pet?").input_value() == ""  # cleared for the next try
    page.get_by_label("Pet?").fill("Bello")
    page.get_by_role("button", name="Next").click()

    page.get_by_role("heading", name="Question 2 of 2").wait_for()
    assert page.locator('[data-state="error"]').is_hidden()
    page.get_by_label("Town?").fill("Lisbon")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Verification code", exact=True).wait_for()
    assert page.locator("[data-pw-destinations] li").all_inner_texts() == [
        "j***@ex***.org", "*******0199"]  # fmt: skip
    assert page.evaluate("document.activeElement.id") == "pw-code"
    page.get_by_label("Verification code", exact=True).fill("123456")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("New password", exact=True).wait_for()
    rules = page.locator("[data-pw-rules] [data-rule]")
    assert rules.evaluate_all("items => items.map(i => i.dataset.rule)") == ["min_length"]
    assert rules.locator(".pw-rule__text").inner_text() == "At least 12 characters"
    page.get_by_label("New password", exact=True).fill("New-Secret-1")
    page.get_by_label("Type the new password again").fill("Other")
    page.get_by_role("button", name="Reset password").click()
    assert alert(page) == text_of(page, "RES_PASSWORDS_DIFFER")
    page.get_by_label("Type the new password again").fill("New-Secret-1")
    page.get_by_role("button", name="Reset password").click()
    page.locator('[data-state="error"] p').nth(1).wait_for()  # the reply's two lines
    lines = page.locator('[data-state="error"] p').all_inner_texts()
    assert lines == [text_of(page, "RES_POLICY_REJECTED"),
                     "Reason given by the directory: Contains your name"]  # fmt: skip
    page.get_by_role("button", name="Reset password").click()

    finished = page.locator('[data-state="finished"]')
    finished.wait_for()
    assert text_of(page, "RES_FINISHED_RESET") in finished.inner_text()
    assert api.sent == [
        ("reset/start", {"lang": "en", "username": "jsmith", "domain": "LAB"}),
        ("reset/step", {"flow": "token-question-1", "answer": "Rex"}),
        ("reset/step", {"flow": "token-question-1", "answer": "Bello"}),
        ("reset/step", {"flow": "token-question-2", "answer": "Lisbon"}),
        ("reset/step", {"flow": "token-code-0", "code": "123456"}),
        ("reset/step", {"flow": "token-password-0", "new_password": "New-Secret-1"}),
        ("reset/step", {"flow": "token-password-0", "new_password": "New-Secret-1"}),
    ]


def test_lockout_ends_the_flow_with_advice_to_enroll_again(page: Page, site: str) -> None:
    Api(page, {"unlock/start": [step("question", index=1, total=3, prompt="Pet?")],
               "unlock/step": [(423, {"message": "RES_LOCKED_OUT", "detail": "x"})]})  # fmt: skip
    page.goto(f"{site}/hr/unlock.html?username=jsmith")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Pet?").fill("wrong")
    page.get_by_role("button", name="Next").click()

    stopped = page.locator('[data-state="stopped"]')
    stopped.wait_for()
    assert text_of(page, "RES_LOCKED_OUT") in stopped.inner_text()
    again = page.get_by_role("link", name="Set up my security questions again")
    assert again.get_attribute("href") == "enroll.html?username=jsmith&domain=EXAMPLE"
    assert page.get_by_role("button", name="Start again").is_hidden()
    assert page.locator("form").evaluate_all("forms => forms.every(f => f.hidden)")


def test_an_expired_session_offers_to_start_again(page: Page, site: str) -> None:
    question = step("question", index=1, total=3, prompt="Pet?")
    expired = (410, {"message": "RES_SESSION_EXPIRED", "detail": "x"})
    Api(page, {"reset/start": [question, question], "reset/step": [expired]})
    page.goto(f"{site}/hr/reset.html?username=jsmith")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Pet?").fill("Rex")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Start again").click()

    assert page.get_by_label("Username").input_value() == "jsmith"
    assert page.evaluate("document.activeElement.id") == "pw-username"
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Question 1 of 3").wait_for()


def test_enroll_builds_its_questions_from_meta_and_checks_them(page: Page, site: str) -> None:
    done = (200, {"status": "done", "message": "RES_FINISHED_ENROLL"})
    api = Api(page, {"meta": [(200, meta(email="required"))], "enroll": [done]})
    page.goto(f"{site}/hr/enroll.html?username=jsmith")
    selects = page.locator("select[name=question]")
    page.get_by_role("combobox", name="Question 3").wait_for()
    assert selects.count() == 3
    assert selects.first.locator("option").all_inner_texts() == [
        "Choose a question",
        *QUESTIONS["en"],
    ]
    save = page.get_by_role("button", name="Save my answers")

    page.get_by_label("Password", exact=True).fill("Secret-1")
    save.click()
    assert alert(page) == text_of(page, "RES_EMPTY_FIELD_EMAIL")
    page.get_by_label("E-mail address").fill("j.smith@example.org")
    save.click()
    assert alert(page) == "Please choose question 1."
    for n, question in enumerate(["Pet?", "Town?", "Pet?"], start=1):
        page.get_by_role("combobox", name=f"Question {n}").select_option(question)
    save.click()
    assert (
        alert(page) == "Questions 1 and 3 are the same. Please pick a different one for question 3."
    )
    assert page.get_by_role("combobox", name="Question 3").get_attribute("aria-invalid") == "true"
    page.get_by_role("combobox", name="Question 3").select_option("School?")
    for n, answer in enumerate(["Rex", "a-b", "St. Mary's"], start=1):
        page.locator(f"#pw-answer-{n}").fill(answer)
    save.click()
    assert alert(page) == ("The answer to question 2 is too short. "
                           "Please use at least 3 letters or digits.")  # fmt: skip
    page.locator("#pw-answer-2").fill("Lisbon")
    save.click()

    page.locator('[data-state="finished"]').wait_for()
    assert api.sent[-1] == ("enroll", {
        "lang": "en", "username": "jsmith", "domain": "EXAMPLE", "password": "Secret-1",
        "email": "j.smith@example.org",
        "answers": [{"question": "Pet?", "answer": "Rex"},
                    {"question": "Town?", "answer": "Lisbon"},
                    {"question": "School?", "answer": "St. Mary's"}],
    })  # fmt: skip


def test_enroll_with_own_questions_in_german(page: Page, site: str) -> None:
    Api(page, {"meta": [(200, meta(custom_questions=True, questions=2))],
               "enroll": [problem("RES_IDENTICAL_QUESTIONS", **{"1": "1", "2": "2"})]})  # fmt: skip
    page.goto(f"{site}/hr/de/enroll.html?lang=de")
    typed = page.locator("input[name=question]:not([disabled])")
    typed.first.wait_for()
    assert typed.count() == 2
    assert typed.first.get_attribute("maxlength") == "64"
    assert page.locator("select[name=question]:not([disabled])").count() == 0
    assert page.locator("[data-pw-email]").is_hidden()
    page.get_by_label("Benutzername").fill("jsmith")
    page.get_by_label("Passwort", exact=True).fill("Secret-1")
    typed.nth(0).fill("Erstes Auto?")
    typed.nth(1).fill("Lieblingsbuch?")
    page.locator("#pw-answer-1").fill("Golf")
    page.locator("#pw-answer-2").fill("Momo")
    page.get_by_role("button", name="Antworten speichern").click()
    # The server's positional values fill %1 and %2 of the German text.
    assert (
        alert(page) == "Die Fragen 1 und 2 sind gleich. Bitte wählen Sie für Frage 2 eine andere."
    )


def test_enroll_with_some_questions_fixed_and_some_typed(page: Page, site: str) -> None:
    """apr checklist 28: `custom_questions = [false, true, true]` gives one list to pick
    from and two fields for the user's own questions; a listed question typed into one of
    those is refused before anything is sent"""
    done = (200, {"status": "done", "message": "RES_FINISHED_ENROLL"})
    api = Api(page, {"meta": [(200, meta(custom_questions=[False, True, True]))],
                     "enroll": [done]})  # fmt: skip
    page.goto(f"{site}/hr/enroll.html?username=jsmith")
    page.get_by_role("combobox", name="Question 1").wait_for()
    assert page.locator("select[name=question]:not([disabled])").count() == 1
    typed = page.locator("input[name=question]:not([disabled])")
    assert typed.count() == 2
    assert [typed.nth(i).get_attribute("id") for i in (0, 1)] == ["pw-question-2", "pw-question-3"]
    assert typed.first.get_attribute("maxlength") == "64"
    page.get_by_label("Password", exact=True).fill("Secret-1")
    page.get_by_role("combobox", name="Question 1").select_option("Pet?")
    typed.nth(0).fill("Town?")
    typed.nth(1).fill("Best friend at school?")
    for n, answer in enumerate(["Rex", "Lisbon", "Anna"], start=1):
        page.locator(f"#pw-answer-{n}").fill(answer)
    save = page.get_by_role("button", name="Save my answers")
    save.click()
    assert alert(page) == ("Question 2 must be one of your own: "
                           "please type a question that is not on the list.")  # fmt: skip
    assert not [path for path, _ in api.sent if path == "enroll"]
    typed.nth(0).fill("First car?")
    save.click()
    page.locator('[data-state="finished"]').wait_for()
    assert api.sent[-1][1]["answers"] == [
        {"question": "Pet?", "answer": "Rex"},
        {"question": "First car?", "answer": "Lisbon"},
        {"question": "Best friend at school?", "answer": "Anna"},
    ]


def test_change_invites_to_enroll_with_the_user_carried_over(page: Page, site: str) -> None:
    Api(page, {"change": [(200, {"status": "done", "message": "RES_FINISHED_CHANGE_INVITE"})]})
    page.goto(f"{site}/hr/change.html?username=jsmith")
    for label, value in [("Current password", "a"), ("New password", "b"),
                         ("Type the new password again", "b")]:  # fmt: skip
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Change password").click()
    invite = page.get_by_role("link", name="Set up self-service now")
    invite.wait_for()
    assert invite.get_attribute("href") == "enroll.html?username=jsmith&domain=EXAMPLE"


def test_a_site_without_enroll_sends_no_invitation(page: Page, site: str) -> None:
    Api(page, {"change": [(200, {"status": "done", "message": "RES_FINISHED_CHANGE_INVITE"})]})
    page.goto(f"{site}/it/change.html?username=jsmith&domain=EXAMPLE")
    for label, value in [("Current password", "a"), ("New password", "b"),
                         ("Type the new password again", "b")]:  # fmt: skip
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Change password").click()
    page.locator('[data-state="finished"]').wait_for()
    assert page.get_by_role("link", name="Set up self-service now").count() == 0


def test_a_site_the_relay_does_not_know_shows_the_error_page(page: Page, site: str) -> None:
    Api(page, {"reset/start": [(404, {"message": "RES_UNKNOWN_SITE", "detail": "x"})]})
    page.goto(f"{site}/hr/reset.html?username=jsmith")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url("**/hr/error.html?message=RES_UNKNOWN_SITE")
    assert page.get_by_role("heading", level=1).inner_text() == "Something went wrong"
    assert page.locator("[data-pw-error-text]").inner_text() == text_of(page, "RES_UNKNOWN_SITE")


def test_menu_cmd_links_open_the_flow_with_the_fields(page: Page, site: str) -> None:
    page.goto(f"{site}/hr/index.html?cmd=unlock&username=maryj&domain=LAB")

    page.wait_for_url("**/hr/unlock.html?username=maryj&domain=LAB")
    assert page.get_by_label("Username").input_value() == "maryj"
    assert page.locator("#pw-domain").input_value() == "LAB"
