"""The optional equality monitoring questions: asked once, after the answer about news, each
with "prefer not to say", "skip all" at the start; answers kept apart, in every language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.casework.erasure import SurveyAnswers, erase_people
from bot.casework.people import export_people
from bot.i18n import load_languages
from bot.services import Services
from bot.settings import LOCALES_DIR
from bot.sms import sms_cost
from storage.models import EqualityMonitoring, Feedback
from tests.conftest import Bot

LANGUAGES = load_languages(LOCALES_DIR)
PERSON = "+447700900610"
COMMENT = ("hi", "1", "2", "1", "The day centre is lovely.")


def answers(services: Services) -> list[EqualityMonitoring]:
    with services.database.session() as session:
        found = list(session.scalars(select(EqualityMonitoring)))
        session.expunge_all()
        return found


def test_the_questions_come_after_the_answer_about_news_not_before(bot: Bot) -> None:
    replies = bot.conversation(PERSON, *COMMENT)
    assert "May we send you news" in replies[-1]
    assert answers(bot.services) == []  # the contribution itself asks nothing more

    thanks, question = bot.receive(PERSON, "yes")
    assert thanks == "Thank you. Send PREFERENCES any time to change this."
    assert question.startswith("May we ask 7 short questions about you?")
    assert question.endswith("\n1 Yes\n2 Skip all")
    [row] = answers(bot.services)
    assert row.answered_at is None and row.skipped is False


def test_every_question_answered_is_kept_apart_from_the_feedback(bot: Bot) -> None:
    # Yes; a carer; 65 to 74; female; Asian; Bangladeshi; disabled; Muslim; E1.
    bot.conversation(PERSON, *COMMENT, "1", "1", "1", "5", "1", "1", "1", "1", "6", "1")
    assert bot.replies[-1] == "Thank you. Send 0 for the menu."
    [row] = answers(bot.services)
    assert (
        row.carer,
        row.age_band,
        row.sex,
        row.ethnic_group,
        row.ethnicity,
        row.disability,
        row.religion,
        row.area,
    ) == ("carer", "65_74", "female", "asian", "bangladeshi", "yes", "muslim", "E1")
    assert row.answered_at is not None and not row.skipped
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        # Nothing of it is written on the feedback.
        assert "muslim" not in repr(vars(feedback))


def test_skip_all_keeps_nothing_but_that_they_were_asked(bot: Bot) -> None:
    bot.conversation(PERSON, *COMMENT, "1", "2")
    assert bot.replies[-1] == "That is fine. Send 0 for the menu."
    [row] = answers(bot.services)
    assert row.skipped and row.answered_at is None
    assert (row.carer, row.ethnicity, row.religion) == (None, None, None)


def test_prefer_not_to_say_at_every_question(bot: Bot) -> None:
    # carer 5, age 7, sex 3, ethnic group 6 (skips the detail), disability 3, religion 9, area 7
    bot.conversation(PERSON, *COMMENT, "1", "1", "5", "7", "3", "6", "3", "9", "7")
    assert bot.replies[-1] == "Thank you. Send 0 for the menu."
    [row] = answers(bot.services)
    assert {
        row.carer,
        row.age_band,
        row.sex,
        row.ethnic_group,
        row.disability,
        row.religion,
        row.area,
    } == {"prefer_not"}
    assert row.ethnicity is None


def test_leaving_half_way_keeps_what_was_answered(bot: Bot) -> None:
    bot.conversation(PERSON, *COMMENT, "1", "1", "2", "0")  # a carer, I use services: menu
    [row] = answers(bot.services)
    assert (row.carer, row.age_band, row.sex) == ("service_user", None, None)


def test_asked_once_only(bot: Bot) -> None:
    bot.conversation(PERSON, *COMMENT, "1", "2")
    more = bot.conversation(PERSON, "0", "2", "1", "Another thought.", "PREFERENCES", "1")
    assert not any("7 short questions" in reply for reply in more)
    assert len(answers(bot.services)) == 1


def test_someone_who_leaves_the_news_question_is_not_asked(bot: Bot) -> None:
    replies = bot.conversation(PERSON, *COMMENT, "0")
    assert not any("7 short questions" in reply for reply in replies)
    assert answers(bot.services) == []


@pytest.mark.parametrize(
    ("language", "menu_choice", "asked", "skip", "fine"),
    [
        ("bn", "2", "আপনার সম্পর্কে ৭টি ছোট প্রশ্ন", "২ সব বাদ দিন", "ঠিক আছে।"),
        ("syl", "3", "আফনার বারে ৭টা ছোট সওয়াল", "২ হকল বাদ দেউক্কা", "ঠিক আছে।"),
        ("syl-Latn", "4", "Afnar bare 7ta soto shawal", "2 Hokol bad dein", "Thik ase."),
    ],
)
def test_in_every_language_within_its_sms_budget(
    bot: Bot, language: str, menu_choice: str, asked: str, skip: str, fine: str
) -> None:
    bot.conversation(PERSON, "hi", menu_choice, "2", "1", "The day centre is lovely.")
    [_, question] = bot.receive(PERSON, "1")
    assert question.startswith(asked) and question.endswith(skip)
    # As an SMS: one segment in GSM-7 for romanised Sylheti, three for Bengali script.
    assert sms_cost(question).segments <= LANGUAGES[language].segments
    [done] = bot.receive(PERSON, "2")
    assert done.startswith(fine)
    [row] = answers(bot.services)
    assert row.language == language and row.skipped


def test_every_question_offers_prefer_not_to_say_and_the_first_skip_all(bot: Bot) -> None:
    flow = bot.services.flows["monitoring"]
    questions = [node for node in flow.nodes.values() if node.type == "choice"]
    start, *rest = questions
    assert [option.value for option in start.options] == ["go", "skip"]
    assert len(rest) == 12  # 7 questions: ethnicity is the group, then one of 5 detail lists
    for node in rest:
        assert node.options[-1].label == "Prefer not to say", node.id
        assert node.options[-1].value == "prefer_not", node.id
    # The 2021 census's 19 categories for England and Wales, in the 5 groups' lists.
    detail = {
        option.value
        for node in rest
        if node.save == "ethnicity"
        for option in node.options
        if option.value != "prefer_not"
    }
    assert len(detail) == 19 and "bangladeshi" in detail


def test_a_persons_answers_are_in_their_export_and_gone_with_their_erasure(bot: Bot) -> None:
    bot.conversation(PERSON, *COMMENT, "1", "1", "1", "5", "1", "1", "1", "1", "6", "1")
    services = bot.services
    [row] = answers(services)
    with services.database.session() as session:
        export = export_people(session, [row.contact_id], services.clock())
        [kept] = export["equality_monitoring"]
        assert kept["ethnicity"] == "bangladeshi" and kept["religion"] == "muslim"
        erase_people(
            session,
            [row.contact_id],
            now=services.clock(),
            complaint_months=services.settings.retention_complaints_months,
            survey_answers=SurveyAnswers.of(services.flows),
            user_id=None,
            reason=None,
        )
    assert answers(services) == []
