"""`partnerdata serve --published s3://...` (issue 19): the bucket previewed as a static website host
serves it: every relative link of the catalogue's pages answers, folders answer their index.html,
ranges as DuckDB-WASM asks them, and nothing hidden."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from urllib.parse import urljoin, urlsplit

import pytest

from partnerdata.catalogue.serve_bucket import make_bucket_server
from tests.support.s3 import seeded

PAGES = ("", "index.nl.html", "releases/1.0.1/index.html", "explore/activities.html", "explore/map.nl.html")


@pytest.fixture
def served(bucket_name, site, tmp_path):
    bucket = seeded(bucket_name, site, tmp_path / "seed", "open-data")
    bucket.put(".partnerdata-lease.json", b'{"holder": "a run"}')  # as while a run works
    server = make_bucket_server(str(bucket.url), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str, **headers: str):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)


def test_every_link_of_the_catalogue_answers_from_the_bucket(served):
    base, site = served
    checked = set()
    for page in PAGES:
        with _get(base + page) as response:
            text = response.read().decode()
        assert text == (site / (page or "index.html")).read_text(encoding="utf-8"), page
        for link in re.findall(r'(?:href|src)="([^"#]+)', text):
            target = urljoin(base + page, link)
            if urlsplit(target).netloc != urlsplit(base).netloc or target in checked:
                continue  # another host (the licence, a partner's site): not the bucket's
            checked.add(target)
            with _get(target) as response:
                assert response.status == 200, target
    assert len(checked) > 50  # the downloads, the release pages, the explorer's scripts and data


def test_folders_ranges_and_what_is_hidden(served):
    base, site = served
    with _get(base + "releases/1.0.1/") as response:
        assert response.read() == (site / "releases" / "1.0.1" / "index.html").read_bytes()
    with _get(base + "releases/1.0.1") as response:  # redirected to the folder, as a website endpoint does
        assert response.url == base + "releases/1.0.1/"
    parquet = (site / "latest" / "activities.parquet").read_bytes()
    with _get(base + "latest/activities.parquet", Range="bytes=-8") as response:
        assert response.status == 206 and response.read() == parquet[-8:]
        assert response.headers["Content-Range"] == f"bytes {len(parquet) - 8}-{len(parquet) - 1}/{len(parquet)}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(base + "latest/activities.parquet", Range=f"bytes={len(parquet)}-")
    assert refused.value.code == 416
    for hidden in (
        ".partnerdata-lease.json",
        "releases/%2E%2E/latest.json",
        "releases/a%2Fb",
        "%FF.csv",
        "nothing.csv",
    ):
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(base + hidden)
        assert missing.value.code == 404, hidden
