"""Bounded label values: event types from the definitions, reason codes."""

from __future__ import annotations

import yaml

from journeys.definition import Journey
from schemas import RejectReason
from streams.ops.labels import event_types_of, reason_code
from streams.ops.metrics import Metrics
from tests.ops.conftest import sample

DEFINITION = """
name: labels_test
version: 7
stages: [new, welcomed, lapsed]
initial_stage: new
matchers:
  bad_experience:
    - {type: csat_submitted, where: [{property: score, lte: 2}]}
    - {type: [refund_issued, Delivery Failed]}
rules:
  - id: welcome
    when: {event: {type: signed_up}}
    then: {move_to: welcomed, emit: {kind: onboarding.welcome}}
  - id: recover
    when: {event: {matcher: bad_experience}}
    then: {emit: {kind: recovery.bad_experience}}
  - id: lapse
    when: {inactivity: {of: {type: logged_in}, for: 30d}}
    then: {move_to: lapsed}
  - id: churn_risk
    when: {window: {event: {type: ticket_opened}, count: 3, within: 7d}}
    then: {emit: {kind: recovery.churn_risk}}
exits:
  - {name: deleted, event: {type: account_deleted}}
fanout:
  - index: feature_requests
    subscribe: {event: {type: feature_requested}, key: feature_id}
    publish: {event: {type: feature_released}, key: feature_id, as: requested_feature_released}
"""


def _journey() -> Journey:
    return Journey.model_validate(yaml.safe_load(DEFINITION))


def test_event_types_of_a_definition() -> None:
    assert event_types_of(_journey()) == {
        "signed_up", "csat_submitted", "refund_issued", "delivery_failed", "logged_in",
        "ticket_opened", "account_deleted", "feature_requested", "feature_released",
        "requested_feature_released",
    }  # fmt: skip


def test_describe_definitions_sets_types_and_build_info() -> None:
    m = Metrics()
    m.describe_definitions([_journey()], version="1.2.3")
    assert m.event_type_label("ticket_opened") == "ticket_opened"
    assert m.event_type_label("page_viewed") == "other"
    assert sample(m, "journeys_build_info", version="1.2.3", engine="python") == 1
    assert sample(m, "journeys_journey_definition_info", journey="labels_test", version="7") == 1
    assert sample(m, "journeys_events_consumed_total", event_type="logged_in", outcome="late") == 0


def test_reason_codes() -> None:
    assert reason_code("invalid_json") == "invalid_json"
    assert reason_code("schema_violation") == "schema_violation"
    assert reason_code("event_time: Input should have timezone info") == "other"
    assert reason_code("") == "other"
    assert reason_code("x" * 65) == "other"


def test_every_reject_reason_is_its_own_label() -> None:
    # new reasons (issue 13: invalid_encoding, timestamp_out_of_range) keep their code
    assert {reason_code(reason) for reason in RejectReason} == {r.value for r in RejectReason}
