"""One redaction for every text that leaves partnerdata: URLs lose what makes them credentials.

A partner's server may answer with a redirect to a pre-signed storage URL, whose query *is*
the credential (``X-Amz-Signature=...``, ``X-Goog-Signature``, an Azure SAS ``sig``); an error
message that quotes it publishes the key to the file. sources.yaml's own secrets are replaced by
``Source.redact`` (it knows their values); this module removes what no configuration names:

- the user and password of ``https://user:password@host/``;
- every query value of a signed URL (one with a signature parameter);
- the values of query parameters named like secrets (token, key, password, signature, ...).

Everything a run writes to published/, reports/, raw/ meta.json, a log or a notification, and
every last line on stderr, passes through ``redact_urls``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MARK = "<redacted>"
URL = re.compile(r"\b(?:https?|ftp|s3|gs)://[^\s'\"<>`]+", re.IGNORECASE)
# A parameter whose presence makes every value of the query part of a signature.
SIGNATURES = {"x-amz-signature", "x-goog-signature", "signature", "sig", "x-amz-credential", "x-goog-credential"}
# Parameters whose value is a secret wherever they appear.
SECRET_NAME = re.compile(
    r"(sig|signature|token|secret|passw|pwd|auth|credential|session|apikey|api_key|api-key|^key$|_key$|-key$|"
    r"access_key|client_secret|x-amz-|x-goog-|awsaccesskeyid|policy)",
    re.IGNORECASE,
)


def redact_urls(text: str) -> str:
    """text with every URL in it redacted (see the module docstring); other text is unchanged."""
    if "://" not in text:
        return text
    return URL.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = len(url) - len(url.rstrip(".,;:!?)]}'"))  # the sentence's punctuation, not the URL's
    return redact_url(url[: len(url) - trailing]) + url[len(url) - trailing :]


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return MARK  # not even a URL's shape: nothing of it is worth the risk
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MARK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = [pair.partition("=") for pair in query.split("&")]
        signed = any(name.lower() in SIGNATURES for name, _, _ in pairs)
        query = "&".join(
            f"{name}={MARK}" if value and (signed or SECRET_NAME.search(name)) else f"{name}{equals}{value}"
            for name, equals, value in pairs
        )
    fragment = parts.fragment
    if fragment and SECRET_NAME.search(fragment):  # an OAuth implicit grant: #access_token=...
        fragment = MARK
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
