"""Stories of the built-in lifecycle journey, with the exact triggers expected.

Each row: (rule, kind, emitted_at, deliver_after, cause key). T0 is Monday 2025-03-03
12:00 UTC. Customer "c-0" is outside the 5% holdout (checked below).
"""

from __future__ import annotations

from functools import partial

import pytest

from journeys import default_journey, in_holdout, next_due
from schemas import trigger_id
from tests.journeys.factories import at, ev, play, utc

J = default_journey()
C = "c-0"
E = partial(ev, customer=C)


def test_story_customer_is_treated() -> None:
    assert not in_holdout(C, J.name, J.guard_rails.holdout_percent)


STORIES = {
    "onboarding: welcome, nudges on days 1, 3, 7 (New York, quiet hours, DST)": (
        [E("s1", "signed_up", at(), timezone="America/New_York", plan="pro")],
        at(days=8),
        [
            # 12:00 UTC is 07:00 EST: inside 21:00-08:00, deferred to 08:00 EST.
            (
                "welcome",
                "onboarding.welcome",
                "2025-03-03T12:00:00Z",
                "2025-03-03T13:00:00Z",
                "event:s1",
            ),
            (
                "nudge_day_1",
                "onboarding.nudge_day_1",
                "2025-03-04T12:00:00Z",
                "2025-03-04T13:00:00Z",
                "timer:nudge_day_1@2025-03-04T12:00:00+00:00",
            ),
            (
                "nudge_day_3",
                "onboarding.nudge_day_3",
                "2025-03-06T12:00:00Z",
                "2025-03-06T13:00:00Z",
                "timer:nudge_day_3@2025-03-06T12:00:00+00:00",
            ),
            # After the US DST change (9 March) 12:00 UTC is 08:00 EDT: not quiet.
            (
                "nudge_day_7",
                "onboarding.nudge_day_7",
                "2025-03-10T12:00:00Z",
                None,
                "timer:nudge_day_7@2025-03-10T12:00:00+00:00",
            ),
        ],
    ),
    "onboarding: the first key action activates and stops the nudges": (
        [E("s1", "signed_up", at()), E("k1", "project_created", at(days=2))],
        at(days=10),
        [
            ("welcome", "onboarding.welcome", "2025-03-03T12:00:00Z", None, "event:s1"),
            (
                "nudge_day_1",
                "onboarding.nudge_day_1",
                "2025-03-04T12:00:00Z",
                None,
                "timer:nudge_day_1@2025-03-04T12:00:00+00:00",
            ),
            ("activated", "onboarding.activated", "2025-03-05T12:00:00Z", None, "event:k1"),
        ],
    ),
    "trial: reminder 3 days before the trial ends, 10:00 Paris; then at risk": (
        [
            E("s1", "signed_up", at(), timezone="Europe/Paris", trial_end="2025-03-17"),
            E("k1", "key_action", at(hours=1)),
        ],
        at(days=15),
        [
            ("welcome", "onboarding.welcome", "2025-03-03T12:00:00Z", None, "event:s1"),
            ("activated", "onboarding.activated", "2025-03-03T13:00:00Z", None, "event:k1"),
            (
                "trial_ending",
                "renewal.trial_ending",
                "2025-03-14T09:00:00Z",
                None,
                "timer:trial_ending@2025-03-14T09:00:00+00:00",
            ),
            (
                "at_risk",
                "engagement.at_risk",
                "2025-03-17T13:00:00Z",
                None,
                "timer:at_risk@2025-03-17T13:00:00+00:00",
            ),
        ],
    ),
    "renewal: 30 and 7 day reminders, dunning (service), thanks": (
        [
            E("b1", "subscription_started", at(), renewal_date="2025-05-01", plan="pro"),
            E("p1", "payment_failed", utc("2025-04-28T23:30:00+00:00"), amount=49),
            E(
                "r1",
                "subscription_renewed",
                utc("2025-05-01T08:00:00+00:00"),
                renewal_date="2026-05-01",
            ),
        ],
        utc("2025-05-10T00:00:00+00:00"),
        [
            (
                "renewal_reminder_30d",
                "renewal.reminder_30d",
                "2025-04-01T10:00:00Z",
                None,
                "timer:renewal_reminder_30d@2025-04-01T10:00:00+00:00",
            ),
            (
                "renewal_reminder_7d",
                "renewal.reminder_7d",
                "2025-04-24T10:00:00Z",
                None,
                "timer:renewal_reminder_7d@2025-04-24T10:00:00+00:00",
            ),
            # Service priority: no quiet-hours deferral at 23:30.
            ("dunning", "renewal.dunning", "2025-04-28T23:30:00Z", None, "event:p1"),
            ("renewed", "renewal.thanks", "2025-05-01T08:00:00Z", None, "event:r1"),
        ],
    ),
    "renewal: a date already too close skips the 30-day reminder": (
        [E("b1", "subscription_started", at(), renewal_date="2025-03-15")],
        at(days=20),
        [
            (
                "renewal_reminder_7d",
                "renewal.reminder_7d",
                "2025-03-08T10:00:00Z",
                None,
                "timer:renewal_reminder_7d@2025-03-08T10:00:00+00:00",
            ),
        ],
    ),
    "engagement: at risk after 14 days, lapsed after 45, welcome back on return": (
        [E("k1", "key_action", at()), E("v1", "page_viewed", at(days=50))],
        at(days=51),
        [
            (
                "at_risk",
                "engagement.at_risk",
                "2025-03-17T12:00:00Z",
                None,
                "timer:at_risk@2025-03-17T12:00:00+00:00",
            ),
            (
                "lapsed",
                "engagement.win_back",
                "2025-04-17T12:00:00Z",
                None,
                "timer:lapsed@2025-04-17T12:00:00+00:00",
            ),
            ("welcome_back", "engagement.welcome_back", "2025-04-22T12:00:00Z", None, "event:v1"),
        ],
    ),
    "engagement: a return while at risk re-arms from the return": (
        [E("k1", "key_action", at()), E("v1", "app_opened", at(days=20))],
        at(days=35),
        [
            (
                "at_risk",
                "engagement.at_risk",
                "2025-03-17T12:00:00Z",
                None,
                "timer:at_risk@2025-03-17T12:00:00+00:00",
            ),
            ("welcome_back", "engagement.welcome_back", "2025-03-23T12:00:00Z", None, "event:v1"),
            (
                "at_risk",
                "engagement.at_risk",
                "2025-04-06T12:00:00Z",
                None,
                "timer:at_risk@2025-04-06T12:00:00+00:00",
            ),
        ],
    ),
    "recovery: each bad experience at once (service, even at night); two -> churn risk": (
        [
            E("q1", "csat_submitted", at(hours=10), timezone="Europe/Paris", score=1),
            E("d1", "delivery_failed", at(days=10), order_id="o-7"),
            E("n1", "nps_submitted", at(days=45), score=6),
            E("f1", "refund_issued", at(days=50), order_id="o-8", amount=20),
        ],
        None,
        [
            ("low_csat", "recovery.low_csat", "2025-03-03T22:00:00Z", None, "event:q1"),
            (
                "failed_delivery",
                "recovery.failed_delivery",
                "2025-03-13T12:00:00Z",
                None,
                "event:d1",
            ),
            ("churn_risk", "recovery.churn_risk", "2025-03-13T12:00:00Z", None, "event:q1,d1"),
            ("nps_detractor", "recovery.nps_detractor", "2025-04-17T12:00:00Z", None, "event:n1"),
            ("refund", "recovery.refund", "2025-04-22T12:00:00Z", None, "event:f1"),
            ("churn_risk", "recovery.churn_risk", "2025-04-22T12:00:00Z", None, "event:n1,f1"),
        ],
    ),
    "recovery: three support tickets within 14 days": (
        [
            E("t1", "support_ticket_opened", at()),
            E("t2", "support_ticket_opened", at(days=10)),
            E("t3", "support_ticket_opened", at(days=15)),
            E("t4", "support_ticket_opened", at(days=16)),
        ],
        None,
        [
            (
                "repeated_tickets",
                "recovery.repeated_tickets",
                "2025-03-19T12:00:00Z",
                None,
                "event:t2,t3,t4",
            ),
        ],
    ),
    "advocacy: promoter -> review ask, very good CSAT -> referral ask": (
        [
            E("n1", "nps_submitted", at(), score=10),
            E("q1", "csat_submitted", at(days=1), score=5),
        ],
        None,
        [
            ("review_ask", "advocacy.review_ask", "2025-03-03T12:00:00Z", None, "event:n1"),
            ("referral_ask", "advocacy.referral_ask", "2025-03-04T12:00:00Z", None, "event:q1"),
        ],
    ),
    "moments: birthday at 09:00 Tokyo every year, 29 February on the 28th": (
        [
            E("i1", "identify", at(), timezone="Asia/Tokyo", traits={"birthday": "1992-02-29"}),
        ],
        utc("2027-01-01T00:00:00+00:00"),
        [
            (
                "birthday",
                "moments.birthday",
                "2026-02-28T00:00:00Z",
                None,
                "timer:birthday@2026-02-28T00:00:00+00:00",
            ),
        ],
    ),
    "moments: sign-up anniversary on the day, local 09:00": (
        [
            E("s1", "signed_up", at(), timezone="America/Los_Angeles"),
            E("k1", "key_action", at(minutes=5)),
            E("v1", "page_viewed", utc("2026-03-02T00:00:00+00:00")),
        ],
        utc("2026-03-04T00:00:00+00:00"),
        [
            # 04:00 PST: quiet hours, deferred to 08:00 PST.
            (
                "welcome",
                "onboarding.welcome",
                "2025-03-03T12:00:00Z",
                "2025-03-03T16:00:00Z",
                "event:s1",
            ),
            (
                "activated",
                "onboarding.activated",
                "2025-03-03T12:05:00Z",
                "2025-03-03T16:00:00Z",
                "event:k1",
            ),
            # 05:05 PDT (after the DST change): deferred to 08:00 PDT.
            (
                "at_risk",
                "engagement.at_risk",
                "2025-03-17T12:05:00Z",
                "2025-03-17T15:00:00Z",
                "timer:at_risk@2025-03-17T12:05:00+00:00",
            ),
            (
                "lapsed",
                "engagement.win_back",
                "2025-04-17T12:05:00Z",
                "2025-04-17T15:00:00Z",
                "timer:lapsed@2025-04-17T12:05:00+00:00",
            ),
            # 16:00 PST the day before: not quiet.
            ("welcome_back", "engagement.welcome_back", "2026-03-02T00:00:00Z", None, "event:v1"),
            (
                "signup_anniversary",
                "moments.signup_anniversary",
                "2026-03-03T17:00:00Z",
                None,
                "timer:signup_anniversary@2026-03-03T17:00:00+00:00",
            ),
        ],
    ),
    "growth: lifetime spend crossing 1000 -> VIP once; 10 seats -> expansion": (
        [
            E("o1", "order_completed", at(), amount=600),
            E("o2", "order_completed", at(days=1), amount=450.5),
            E("o3", "order_completed", at(days=2), amount=100),
            E("x1", "seats_changed", at(days=3), seats=12),
        ],
        None,
        [
            ("vip", "growth.vip", "2025-03-04T12:00:00Z", None, "event:o2"),
            ("expansion", "growth.expansion", "2025-03-06T12:00:00Z", None, "event:x1"),
        ],
    ),
}


@pytest.mark.parametrize("story", list(STORIES), ids=list(STORIES))
def test_story(story: str) -> None:
    steps, until, expected = STORIES[story]
    played = play(J, steps, until=until)
    assert played.rows() == expected
    for t in played.triggers:
        assert t.trigger_id == trigger_id(C, "lifecycle", 1, t.rule, t.cause.key)
        assert t.priority == ("service" if t.rule in SERVICE else "marketing")
        assert t.customer_id == C and not t.holdout


SERVICE = {
    "dunning",
    "low_csat",
    "nps_detractor",
    "failed_delivery",
    "refund",
    "repeated_tickets",
    "churn_risk",
}


def test_trigger_payloads_and_stages() -> None:
    played = play(
        J,
        [
            E("s1", "signed_up", at(), plan="team"),
            E("o1", "order_completed", at(hours=1), amount=1200),
            E("x1", "refund_issued", at(hours=2), order_id="o-1", amount=30),
        ],
    )
    welcome, vip, refund = played.triggers
    assert (welcome.stage_before, welcome.stage_after) == ("prospect", "onboarding")
    assert welcome.attributes == {"plan": "team"}
    assert vip.attributes == {"lifetime_spend": 1200}
    assert refund.attributes == {"order_id": "o-1", "amount": 30}
    assert played.state is not None
    assert played.state.attributes["tier"] == "vip"
    assert played.state.attributes["bad_experiences"] == 1


def test_trial_reminder_suppressed_once_converted() -> None:
    played = play(
        J,
        [
            E("t1", "trial_started", at(), trial_end="2025-03-20"),
            E("b1", "subscription_started", at(days=5), renewal_date="2026-03-20"),
        ],
        until=at(days=20),
    )
    assert played.rows() == []
    assert played.suppressed_rows() == [("trial_ending", "goal", "2025-03-17T10:00:00Z")]


def test_voice_of_the_customer_fans_out() -> None:
    from journeys import fanout_event, fanout_keys

    request = E("f1", "feature_requested", at(), feature_id="dark-mode")
    actions = fanout_keys(J, request)
    assert [(a.action, a.index, a.key, a.customer_id) for a in actions] == [
        ("subscribe", "feature_requests", "dark-mode", C)
    ]
    release = ev(
        "rel-1",
        "feature_released",
        at(days=30),
        customer="product",
        feature_id="dark-mode",
        name="Dark mode",
    )
    (publish,) = fanout_keys(J, release)
    assert (publish.action, publish.key, publish.derived_type) == (
        "publish",
        "dark-mode",
        "requested_feature_released",
    )
    derived = fanout_event(publish, release, C)
    assert derived.event_id == "rel-1/feature_requests/c-0"
    played = play(J, [request, derived])
    assert played.rows() == [
        (
            "you_asked_we_built",
            "voc.you_asked_we_built",
            "2025-04-02T12:00:00Z",
            None,
            "event:rel-1/feature_requests/c-0",
        ),
    ]
    assert played.triggers[0].attributes == {"feature_id": "dark-mode", "feature_name": "Dark mode"}


def test_next_due_follows_the_earliest_timer() -> None:
    played = play(J, [E("s1", "signed_up", at())])
    assert played.state is not None
    assert next_due(played.state) == at(days=1)
