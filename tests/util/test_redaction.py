"""The one redaction every outgoing text passes: URLs lose what makes them credentials, and
nothing else changes."""

from __future__ import annotations

import pytest

from partnerdata.util.redaction import MARK, redact_urls

SIGNED_S3 = (
    "https://bucket.s3.eu-west-1.amazonaws.com/export.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261201%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T000000Z"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef"
)


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        (f"403 Client Error: Forbidden for url: {SIGNED_S3}", ["AKIAEXAMPLE", "0123456789abcdef", "20261201T000000Z"]),
        (
            "https://storage.googleapis.com/b/o.csv?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=feedface&x=1",
            ["feedface", "x=1"],  # a signed URL: every value of its query is part of the signature
        ),
        (
            "https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&se=2026-12-02&sig=c2VjcmV0",
            ["c2VjcmV0", "2022-11-02"],
        ),
        ("fetching https://alice:hunter2@partner.example.org/data.csv failed", ["alice", "hunter2"]),
        ("https://api.example.org/v1/activities?page=2&access_token=tok-123", ["tok-123"]),
        ("https://api.example.org/v1?apikey=k1&client_secret=s2&password=p3&api-key=k4", ["k1", "s2", "p3", "k4"]),
        ("https://app.example.org/callback#access_token=implicit-grant", ["implicit-grant"]),
        ("s3://bucket/prefix?AWSAccessKeyId=AKIA2&Signature=sig2&Expires=1", ["AKIA2", "sig2"]),
    ],
)
def test_credentials_in_urls_are_removed(text, secrets):
    redacted = redact_urls(text)
    assert MARK in redacted
    for secret in secrets:
        assert secret not in redacted, (secret, redacted)


def test_the_rest_of_the_text_and_url_stays_as_it_was():
    text = f"source erasmus: 403 for url: {SIGNED_S3}. Ask the partner for a new link."
    redacted = redact_urls(text)
    assert redacted.startswith("source erasmus: 403 for url: https://bucket.s3.eu-west-1.amazonaws.com/export.csv?")
    assert redacted.endswith(". Ask the partner for a new link.")  # the sentence's full stop is not the URL's
    assert "X-Amz-Signature=<redacted>" in redacted  # which parameter it was stays readable


@pytest.mark.parametrize(
    "text",
    [
        "no URL here, only a token=abc that is not in a URL",
        "https://api.example.org/v1/activities?page=2&per_page=100",
        "https://partner.example.org/exports/2026/activities.csv",
        "see (https://partner.example.org/data.csv), then retry",
    ],
)
def test_urls_without_credentials_are_unchanged(text):
    assert redact_urls(text) == text
