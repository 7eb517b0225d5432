"""Object storage: ``s3://bucket/prefix`` locations, and the few calls partnerdata makes on them.

Any S3-compatible service (AWS, MinIO, Ceph, Cloudflare R2, GCS's S3 API) through botocore,
configured the standard way: ``AWS_ENDPOINT_URL`` (a service that is not AWS), ``AWS_ACCESS_KEY_ID``
and ``AWS_SECRET_ACCESS_KEY`` (or a profile), ``AWS_DEFAULT_REGION``. Credentials stay in botocore:
nothing here writes, logs or repeats them; a message names the location, the key and the fix.

Write-once objects are written with ``If-None-Match: *`` (a conditional write: the service refuses
when the key exists, 412), and every upload carries its SHA-256, which the service checks on
arrival and reports back (``verify``) so that what it stores is known to be what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnerdata.errors import PartnerdataError, UsageError

if TYPE_CHECKING:
    from botocore.client import BaseClient

SCHEME = "s3://"
# S3's rules for a bucket name (the DNS-compatible ones every service accepts).
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_PART = re.compile(r"^[A-Za-z0-9._-]+$")
DELETE_BATCH = 1000  # keys per DeleteObjects request, the service's maximum


class StorageError(PartnerdataError):
    """The object store refused or could not be reached: nothing after the failed call was done."""


@dataclass(frozen=True)
class BucketURL:
    """An ``s3://bucket/prefix`` location: a folder's place in a bucket."""

    bucket: str
    prefix: str  # "" or parts joined by "/", with no leading or trailing "/"

    def key(self, relative: str) -> str:
        """The object key of a path relative to the location ("releases/1.0.0/SHA256SUMS")."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def relative(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}" if self.prefix else f"{SCHEME}{self.bucket}"


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(SCHEME)


def parse_url(text: str) -> BucketURL:
    """``s3://bucket/prefix``, checked: a typed location becomes keys that are written and deleted, so
    ``..``, empty parts and odd characters are refused, never normalised."""
    if "://" in text and not text.startswith(SCHEME):
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"{text}: {scheme}:// is not supported; use a local folder or s3://bucket/prefix "
            "(Google Cloud Storage and others through their S3 API: set AWS_ENDPOINT_URL)"
        )
    rest = text[len(SCHEME) :].rstrip("/")
    bucket, _, prefix = rest.partition("/")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise UsageError(
            f"{text}: {bucket!r} is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)"
        )
    parts = prefix.split("/") if prefix else []
    bad = [part for part in parts if not PREFIX_PART.match(part) or part in {".", ".."}]
    if bad:
        raise UsageError(
            f"{text}: the prefix part {bad[0]!r} is not allowed (letters, digits, '.', '_' and '-'; no empty "
            "parts, no '.' or '..')"
        )
    return BucketURL(bucket, "/".join(parts))


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str  # without quotes; the MD5 of the bytes for a single-part upload


class Bucket:
    """The calls partnerdata makes on one location of one bucket."""

    def __init__(self, url: BucketURL, client: BaseClient | None = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> BaseClient:
        if self._client is None:
            import boto3  # botocore reads the AWS_* environment variables and the shared config files

            self._client = boto3.session.Session().client("s3")
        return self._client

    def listing(self, relative_prefix: str = "") -> dict[str, ObjectInfo]:
        """Every object under the location (or under one of its folders): relative path -> info."""
        prefix = (
            self.url.key(relative_prefix) if relative_prefix else (f"{self.url.prefix}/" if self.url.prefix else "")
        )
        found = {}
        for page in self._call("list", relative_prefix or ".", self._pages, prefix):
            for item in page.get("Contents", []):
                found[self.url.relative(item["Key"])] = ObjectInfo(item["Size"], item["ETag"].strip('"'))
        return found

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        return iter(list(paginator.paginate(Bucket=self.url.bucket, Prefix=prefix)))

    def get(self, relative: str) -> bytes | None:
        """The object's bytes; None when there is none."""
        try:
            response = self.client.get_object(Bucket=self.url.bucket, Key=self.url.key(relative))
        except Exception as error:
            if error_code(error) in {"NoSuchKey", "404"}:
                return None
            raise self.failure("read", relative, error) from None
        body: bytes = response["Body"].read()
        return body

    def download(self, relative: str, target: Path) -> None:
        """The object's bytes into ``target``. A key that would not be a file of the folder it is
        downloaded into ("a/../../x", "/x", "a//b") is refused: the bucket is not trusted with paths."""
        parts = relative.split("/")
        if not relative or relative.startswith("/") or any(part in {"", ".", ".."} for part in parts):
            raise StorageError(
                f"{self.url}/{relative}: not a file's place (empty, '.' or '..' parts); nothing was downloaded "
                "(rename or delete the object)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        self._call(
            "download", relative, self.client.download_file, self.url.bucket, self.url.key(relative), str(target)
        )

    def put(self, relative: str, data: bytes, create_only: bool = False) -> None:
        """Write an object; with ``create_only``, only where none is (refused with 412 otherwise). The
        SHA-256 of the bytes goes with them: a service that keeps checksums checks it on arrival."""
        extra: dict[str, str] = {"IfNoneMatch": "*"} if create_only else {}
        try:
            self.client.put_object(
                Bucket=self.url.bucket, Key=self.url.key(relative), Body=data, ChecksumAlgorithm="SHA256", **extra
            )
        except Exception as error:
            if create_only and error_code(error) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise StorageError(
                    f"{self.url}/{relative}: already exists, and it is write-once; nothing was overwritten"
                ) from None
            raise self.failure("write", relative, error) from None

    def upload(self, relative: str, source: Path, create_only: bool = False) -> None:
        self.put(relative, source.read_bytes(), create_only)

    def verify(self, relative: str, source: Path) -> None:
        """Check that the object holds the file's bytes, by the digests the service computed of what it
        stored: its SHA-256 where it keeps one, and its ETag where that is the MD5 of the bytes (a
        single-part upload without KMS); when it has neither, the object is read back and hashed."""
        try:
            head = self.client.head_object(Bucket=self.url.bucket, Key=self.url.key(relative), ChecksumMode="ENABLED")
        except Exception as error:
            raise self.failure("check", relative, error) from None
        checked = False
        if head.get("ChecksumSHA256"):
            checked = True
            if base64.b64decode(head["ChecksumSHA256"]).hex() != file_digest(source, hashlib.sha256()):
                raise self._mismatch(relative, "SHA-256")
        etag = str(head.get("ETag", "")).strip('"')
        if re.fullmatch(r"[0-9a-f]{32}", etag):
            checked = True
            if etag != file_digest(source, hashlib.md5(usedforsecurity=False)):
                raise self._mismatch(relative, "MD5 (its ETag)")
        if not checked and hashlib.sha256(self.get(relative) or b"").hexdigest() != file_digest(
            source, hashlib.sha256()
        ):
            raise self._mismatch(relative, "SHA-256, read back")

    def _mismatch(self, relative: str, digest: str) -> StorageError:
        return StorageError(f"{self.url}/{relative}: the bucket's {digest} of it is not the file's")

    def copy(self, source: str, target: str) -> None:
        """A copy made by the service (no bytes through this machine)."""
        self._call(
            "copy",
            f"{source} to {target}",
            self.client.copy_object,
            Bucket=self.url.bucket,
            Key=self.url.key(target),
            CopySource={"Bucket": self.url.bucket, "Key": self.url.key(source)},
            ChecksumAlgorithm="SHA256",
        )

    def delete(self, relatives: list[str]) -> None:
        for start in range(0, len(relatives), DELETE_BATCH):
            batch = relatives[start : start + DELETE_BATCH]
            response = self._call(
                "delete",
                batch[0],
                self.client.delete_objects,
                Bucket=self.url.bucket,
                Delete={"Objects": [{"Key": self.url.key(r)} for r in batch], "Quiet": True},
            )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageError(
                    f"{self.url}/{self.url.relative(first['Key'])}: could not be deleted ({first.get('Code')}: "
                    f"{first.get('Message')}); {len(response['Errors'])} objects are left, the next run tries again"
                )

    def _call(self, action: str, relative: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            raise self.failure(action, relative, error) from None

    def failure(self, action: str, relative: str, error: Exception) -> StorageError:
        return StorageError(f"{self.url}/{relative}: could not {action}: {describe(error)}")


def file_digest(path: Path, digest: Any) -> str:
    """The hex digest of a file's bytes, read a megabyte at a time."""
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return str(digest.hexdigest())


def describe(error: Exception) -> str:
    """What went wrong, and what to do, without a credential: botocore's messages name no secret, and
    the advice names only the variables."""
    name = type(error).__name__
    code = error_code(error)
    if name in {"NoCredentialsError", "PartialCredentialsError"}:
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
    if name in {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}:
        return f"the service could not be reached ({name}); check AWS_ENDPOINT_URL and the network"
    if code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return f"access denied ({code}); check the credentials and the bucket's policy"
    if code in {"NoSuchBucket"}:
        return "the bucket does not exist; create it, or check the name and AWS_ENDPOINT_URL"
    message = getattr(error, "response", {}).get("Error", {}).get("Message") if code else None
    return f"{code}: {message}" if code else f"{name}: {error}"


def error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None
