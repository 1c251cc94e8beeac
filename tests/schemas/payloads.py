"""Realistic Segment payloads, in the shapes Segment documents for each call."""

from __future__ import annotations

import copy
from typing import Any

BROWSER_CONTEXT: dict[str, Any] = {
    "ip": "8.8.8.8",
    "library": {"name": "analytics.js", "version": "2.11.1"},
    "locale": "nl-NL",
    "page": {
        "path": "/academy/",
        "referrer": "",
        "search": "",
        "title": "Analytics Academy",
        "url": "https://segment.com/academy/",
    },
    "timezone": "Europe/Amsterdam",
    "traits": {"email": "peter@example.com", "plan": "premium"},
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) AppleWebKit/537.36",
}

TRACK: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": BROWSER_CONTEXT,
    "event": "Course Clicked",
    "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"title": "Intro to Analytics"},
    "receivedAt": "2015-12-12T19:11:01.266Z",
    "sentAt": "2015-12-12T19:11:01.169Z",
    "timestamp": "2015-12-12T19:11:01.249Z",
    "type": "track",
    "userId": "AiUGstSDIg",
    "originalTimestamp": "2015-12-12T19:11:01.152Z",
}

IDENTIFY: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0", "traits": {"plan": "free"}},
    "integrations": {"All": False, "Mixpanel": True, "Salesforce": True},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {
        "name": "Peter Gibbons",
        "email": "peter@example.com",
        "plan": "premium",
        "logins": 5,
        "address": {"street": "6th St", "city": "San Francisco", "postalCode": "94103"},
    },
    "type": "identify",
    "userId": "97980cfea0067",
    "version": "1.1",
}

PAGE: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0", "library": BROWSER_CONTEXT["library"]},
    "integrations": {"All": True, "Mixpanel": False},
    "messageId": "ajs-0b0c1d5e7a3f",
    "name": "Home",
    "category": "Docs",
    "properties": {"title": "Welcome | Initech", "url": "http://www.example.com"},
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "type": "page",
    "userId": "97980cfea0067",
}

SCREEN: dict[str, Any] = {
    "anonymousId": "3a12eab0-bca7-11e4-8dfc-aa07a5b093db",
    "channel": "mobile",
    "context": {
        "app": {"name": "InitechGlobal", "version": "545", "build": "3.0.1.545"},
        "device": {"manufacturer": "Apple", "model": "iPhone7,2", "type": "ios"},
        "library": {"name": "analytics-ios", "version": "4.1.5"},
        "locale": "en-US",
        "os": {"name": "iPhone OS", "version": "8.1.3"},
        "timezone": "America/Los_Angeles",
    },
    "integrations": {},
    "messageId": "4bd4d3a0-c4d2-11e4-8dfc-aa07a5b093db",
    "name": "Home",
    "properties": {"Feed Type": "private"},
    "receivedAt": "2015-03-06T00:05:46.430Z",
    "sentAt": "2015-03-06T00:05:46.398Z",
    "timestamp": "2015-03-06T00:05:46.398Z",
    "type": "screen",
    "userId": 97980,
}

GROUP: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0"},
    "integrations": {},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {"name": "Initech", "industry": "Technology", "employees": 329, "plan": "enterprise"},
    "type": "group",
    "userId": "97980cfea0067",
    "groupId": "0e8c78ea9d97a7b8185e8632",
    "version": "1.1",
}

ALIAS: dict[str, Any] = {
    "channel": "server",
    "context": {"library": {"name": "analytics-python", "version": "2.2.2"}},
    "integrations": {},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "previousId": "39239-239239-239239-23923",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "type": "alias",
    "userId": "507f191e81",
    "version": "1.1",
}

CANONICAL: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "0b6f2a1e-9f43-4a53-8d7e-3c2a1c0f5e11",
    "customer_id": "c-1042",
    "type": "Order Completed",
    "event_time": "2026-11-02T10:15:00+01:00",
    "source": "shop",
    "properties": {"order_id": "o-77", "revenue": "59.90", "currency": "EUR"},
    "context": {"locale": "fr-FR", "timezone": "Europe/Paris"},
}


def make(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level ``changes``; a value of ``...`` deletes."""
    out = copy.deepcopy(base)
    for name, value in changes.items():
        if value is ...:
            out.pop(name, None)
        else:
            out[name] = value
    return out
