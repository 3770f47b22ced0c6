"""HTTP signatures: draft-cavage and RFC 9421 round trips, foreign vectors, and every refusal.

"Foreign" vectors are built without our signing code: draft-cavage headers by hand with
`cryptography`, the way Mastodon's and Fedify's senders build them, and RFC 9421 headers with
`http_message_signatures` directly. No network, no database.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from federation.signatures import (
    SignatureError,
    cavage_key_id,
    check_body_digest,
    key_id_of,
    rfc9421_key_id,
    sha256_content_digest,
    sha256_digest_header,
    sign_cavage,
    sign_rfc9421,
    signature_profile,
    verify_cavage,
    verify_rfc9421,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
NOW_HTTP = "Mon, 23 Nov 2026 12:00:00 GMT"
KEY_ID = "https://remote.example/users/ada#main-key"
INBOX = "https://nabuur.example/users/bo/inbox"
OUTBOX = "https://nabuur.example/users/bo/outbox?page=2&q=a%20b"
BODY = b'{"type":"Create","actor":"https://remote.example/users/ada"}' * 30
JSON = {"Content-Type": "application/activity+json"}


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- draft-cavage ----------------------------------------------------------------------------


def cavage(key: RSAPrivateKey, method: str, url: str, body: bytes | None, **kw) -> dict:
    """Headers of a request signed with sign_cavage."""
    headers = dict(kw.pop("headers", JSON))
    added = sign_cavage(
        method=method, url=url, headers=headers, body=body, key_id=KEY_ID, private_key=key, **kw
    )
    return {**headers, **added}


def check_cavage(key: RSAPrivateKey, headers, body: bytes | None, **kw) -> None:
    kw.setdefault("now", NOW)
    verify_cavage(
        method=kw.pop("method", "POST"),
        target=kw.pop("target", "/users/bo/inbox"),
        headers=headers,
        body=body,
        public_key=key.public_key(),
        **kw,
    )


def hand_signed(
    key: RSAPrivateKey, lines: list[tuple[str, str]], algorithm: str | None = "rsa-sha256"
) -> str:
    """A Signature header built the way Mastodon's HttpSignatureDraft does, without our code."""
    text = "\n".join(f"{name}: {value}" for name, value in lines)
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    names = " ".join(name for name, _ in lines)
    return f'keyId="{KEY_ID}",{alg}headers="{names}",signature="{b64(signature)}"'


def mastodon_post(key: RSAPrivateKey, digest: str, algorithm: str | None = "rsa-sha256") -> dict:
    """A POST as Mastodon delivers it: (request-target) last, Content-Type signed too."""
    headers = {
        "Host": "nabuur.example",
        "Date": NOW_HTTP,
        "Digest": digest,
        "Content-Type": "application/activity+json",
    }
    lines = [(name.lower(), value) for name, value in headers.items()]
    lines.append(("(request-target)", "post /users/bo/inbox"))
    return {**headers, "Signature": hand_signed(key, lines, algorithm)}


def test_cavage_post_round_trip_signs_what_mastodon_requires(key: RSAPrivateKey) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=NOW)
    assert headers["date"] == NOW_HTTP
    assert headers["host"] == "nabuur.example"
    assert headers["digest"] == "SHA-256=" + b64(hashlib.sha256(BODY).digest())
    assert 'algorithm="rsa-sha256"' in headers["signature"]
    assert 'headers="(request-target) host date digest"' in headers["signature"]
    check_cavage(key, headers, BODY)


def test_cavage_get_with_query_round_trip(key: RSAPrivateKey) -> None:
    headers = cavage(key, "GET", OUTBOX, None, now=NOW, headers={"Accept": "application/json"})
    assert "digest" not in headers
    assert 'headers="(request-target) host date"' in headers["signature"]
    check_cavage(
        key, headers, None, method="GET", target="/users/bo/outbox?page=2&q=a%20b", now=NOW
    )
    with pytest.raises(SignatureError, match="does not match"):
        check_cavage(key, headers, None, method="GET", target="/users/bo/outbox?page=3")


def test_cavage_keeps_a_given_date_and_the_port_of_the_host(key: RSAPrivateKey) -> None:
    date = "Mon, 23 Nov 2026 11:59:00 GMT"
    headers = cavage(key, "POST", "http://localhost:8080/inbox", b"", headers={"Date": date})
    assert "date" not in sign_cavage(
        method="GET", url=INBOX, headers={"DATE": date}, body=None, key_id="k", private_key=key
    )
    assert headers["host"] == "localhost:8080"
    check_cavage(key, headers, b"", target="/inbox")


def test_cavage_refuses_the_wrong_key(key: RSAPrivateKey, other_key: RSAPrivateKey) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=NOW)
    with pytest.raises(SignatureError, match="signature does not match"):
        check_cavage(other_key, headers, BODY)


def test_cavage_refuses_a_tampered_body(key: RSAPrivateKey) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=NOW)
    with pytest.raises(SignatureError, match="Digest sha-256 does not match the body"):
        check_cavage(key, headers, BODY + b" ")


def test_cavage_refuses_a_tampered_signed_header(key: RSAPrivateKey) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=NOW)
    with pytest.raises(SignatureError, match="signature does not match"):
        check_cavage(key, {**headers, "host": "evil.example"}, BODY)
    with pytest.raises(SignatureError, match="signature does not match"):
        check_cavage(key, {**headers, "date": "Mon, 23 Nov 2026 12:00:01 GMT"}, BODY)


@pytest.mark.parametrize(
    ("signed_at", "reason"),
    [
        (NOW - timedelta(hours=2), "date is 2 hours old"),
        (NOW + timedelta(hours=2), "date is 2 hours in the future"),
    ],
)
def test_cavage_refuses_a_date_outside_the_window(
    key: RSAPrivateKey, signed_at: datetime, reason: str
) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=signed_at)
    with pytest.raises(SignatureError) as caught:
        check_cavage(key, headers, BODY)
    assert caught.value.reason == reason
    check_cavage(key, headers, BODY, now=signed_at + timedelta(minutes=59))


def test_cavage_refuses_a_post_whose_signed_digest_is_missing(key: RSAPrivateKey) -> None:
    headers = cavage(key, "POST", INBOX, BODY, now=NOW)
    del headers["digest"]
    with pytest.raises(SignatureError, match="signed header digest is missing"):
        check_cavage(key, headers, BODY)


def test_cavage_refuses_a_post_without_a_signed_digest(key: RSAPrivateKey) -> None:
    # Signed as if it had no body: the digest is neither sent nor signed.
    headers = cavage(key, "POST", INBOX, None, now=NOW)
    with pytest.raises(SignatureError, match="digest is not signed"):
        check_cavage(key, headers, BODY)
    # An unsigned Digest header does not help.
    with pytest.raises(SignatureError, match="digest is not signed"):
        check_cavage(key, {**headers, "Digest": sha256_digest_header(BODY)}, BODY)


@pytest.mark.parametrize(
    "digest",
    [
        "MD5=" + b64(hashlib.md5(BODY).digest()),  # noqa: S324 - the point is refusing it
        "SHA=" + b64(hashlib.sha1(BODY).digest()),  # noqa: S324
        "sha-1=" + b64(hashlib.sha1(BODY).digest()),  # noqa: S324
    ],
)
def test_cavage_refuses_weak_digests(key: RSAPrivateKey, digest: str) -> None:
    with pytest.raises(SignatureError, match="weak digest algorithm"):
        check_cavage(key, mastodon_post(key, digest), BODY)


@pytest.mark.parametrize("algorithm", ["rsa-sha1", "hmac-sha256", "ecdsa-sha256", "RSA-SHA256"])
def test_cavage_refuses_other_algorithms(key: RSAPrivateKey, algorithm: str) -> None:
    headers = mastodon_post(key, sha256_digest_header(BODY), algorithm)
    with pytest.raises(SignatureError, match="unsupported algorithm"):
        check_cavage(key, headers, BODY)


@pytest.mark.parametrize("algorithm", ["hs2019", None])
def test_cavage_accepts_hs2019_and_a_missing_algorithm(
    key: RSAPrivateKey, algorithm: str | None
) -> None:
    headers = mastodon_post(key, sha256_digest_header(BODY), algorithm)
    assert ("algorithm=" in headers["Signature"]) is (algorithm is not None)
    check_cavage(key, headers, BODY)


def test_cavage_accepts_a_mastodon_post(key: RSAPrivateKey) -> None:
    headers = mastodon_post(key, sha256_digest_header(BODY))
    check_cavage(key, headers, BODY)
    assert cavage_key_id(headers) == KEY_ID


def test_cavage_accepts_a_path_only_request_target_like_fedify_signs(key: RSAPrivateKey) -> None:
    # Fedify (and Mastodon before 4.4) leave the query out of (request-target); Fedify also
    # signs every header it sends, sorted by name.
    lines = [
        ("(request-target)", "get /users/bo/outbox"),
        ("accept", "application/activity+json"),
        ("date", NOW_HTTP),
        ("host", "nabuur.example"),
    ]
    headers = {name: value for name, value in lines[1:]}
    headers["signature"] = hand_signed(key, lines)
    check_cavage(key, headers, None, method="GET", target="/users/bo/outbox?page=2")


def test_cavage_joins_repeated_header_lines(key: RSAPrivateKey) -> None:
    lines = [
        ("(request-target)", "get /users/bo"),
        ("host", "nabuur.example"),
        ("date", NOW_HTTP),
        ("accept", "application/activity+json, application/ld+json"),
    ]
    raw = [
        (b"host", b"nabuur.example"),
        (b"date", NOW_HTTP.encode()),
        (b"accept", b"application/activity+json"),
        (b"accept", b"application/ld+json"),
        (b"signature", hand_signed(key, lines).encode()),
    ]
    check_cavage(key, Headers(raw=raw), None, method="GET", target="/users/bo")


def test_cavage_refuses_an_unsigned_request_target(key: RSAPrivateKey) -> None:
    lines = [("host", "nabuur.example"), ("date", NOW_HTTP)]
    headers = {"Host": "nabuur.example", "Date": NOW_HTTP, "Signature": hand_signed(key, lines)}
    with pytest.raises(SignatureError, match=r"\(request-target\) is not signed"):
        check_cavage(key, headers, None, method="GET")


def test_cavage_refuses_unknown_pseudo_headers(key: RSAPrivateKey) -> None:
    lines = [("(request-target)", "get /"), ("host", "h"), ("date", NOW_HTTP), ("(foo)", "x")]
    headers = {"Host": "h", "Date": NOW_HTTP, "Signature": hand_signed(key, lines)}
    with pytest.raises(SignatureError, match=r"signed header \(foo\) is missing"):
        check_cavage(key, headers, None, method="GET", target="/")


def test_cavage_refuses_created_with_rsa_sha256_and_expired_hs2019(key: RSAPrivateKey) -> None:
    created = int(NOW.timestamp())
    lines = [
        ("(request-target)", "get /users/bo"),
        ("host", "nabuur.example"),
        ("(created)", str(created)),
        ("(expires)", str(created - 1)),
    ]
    headers = {"Host": "nabuur.example"}
    for algorithm, reason in (("rsa-sha256", "cannot be signed"), ("hs2019", "expired")):
        header = hand_signed(key, lines, algorithm) + f",created={created},expires={created - 1}"
        with pytest.raises(SignatureError, match=reason):
            check_cavage(key, {**headers, "Signature": header}, None, method="GET")


def test_cavage_accepts_created_instead_of_date_with_hs2019(key: RSAPrivateKey) -> None:
    created = int(NOW.timestamp()) - 30
    lines = [("(request-target)", "get /users/bo"), ("host", "h"), ("(created)", str(created))]
    header = hand_signed(key, lines, "hs2019") + f",created={created}"
    check_cavage(key, {"Host": "h", "Signature": header}, None, method="GET", target="/users/bo")


def test_cavage_without_a_signature(key: RSAPrivateKey) -> None:
    with pytest.raises(SignatureError) as caught:
        check_cavage(key, {"Host": "h", "Date": NOW_HTTP}, None, method="GET")
    assert caught.value.reason == "no signature"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        'keyId="a",',
        'keyId="a" signature="b"',
        'keyId="a",keyId="b",signature="c"',
        'keyId="a,signature="b"',
        'keyId=a b,signature="c"',
        "",
    ],
)
def test_cavage_refuses_unparseable_signature_headers(key: RSAPrivateKey, header: str) -> None:
    with pytest.raises(SignatureError):
        check_cavage(key, {"Signature": header}, None, method="GET")
    assert cavage_key_id({"Signature": header}) is None


def test_cavage_allows_commas_and_escapes_inside_quotes() -> None:
    assert cavage_key_id({"signature": 'keyId="https://a/k?x=1,2\\"",signature="s"'}) == (
        'https://a/k?x=1,2"'
    )


SIGNATURE_WORDS = ('keyId="k"', "algorithm", "headers", "signature", "(request-target)", "host")
SIGNATURE_ALPHABET = st.sampled_from([*SIGNATURE_WORDS, *'=",\\ \t('])


DIGEST_X = sha256_digest_header(b"x")
REQUIRED_NAMES = ["(request-target)", "host", "date", "digest"]
SOME_NAMES = st.lists(st.sampled_from([*REQUIRED_NAMES, "(created)", "(expires)", "(x)", "a"]))
# Half the time every required name is there, so the checks after the policy get exercised too.
SIGNED_NAMES = st.one_of(SOME_NAMES, SOME_NAMES.map(lambda extra: REQUIRED_NAMES + extra))
WELL_FORMED = st.builds(
    lambda names, algorithm, extra: (
        f'keyId="k",algorithm="{algorithm}",headers="{" ".join(names)}",signature="AAAA"{extra}'
    ),
    SIGNED_NAMES,
    st.sampled_from(["rsa-sha256", "hs2019", "x"]),
    st.sampled_from(["", ",created=1", ",expires=99999999999999", ",created=1.5", ',created="x"']),
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(), st.lists(SIGNATURE_ALPHABET).map("".join)))
def test_cavage_random_signature_headers_only_raise_signature_error(
    key: RSAPrivateKey, header: str
) -> None:
    headers = {"Signature": header, "Host": "h", "Date": NOW_HTTP, "Digest": DIGEST_X}
    with pytest.raises(SignatureError):
        check_cavage(key, headers, b"x")
    assert cavage_key_id(headers) in (None, "k")


@settings(max_examples=300, deadline=None, database=None)
@given(WELL_FORMED)
def test_cavage_well_formed_but_wrong_headers_only_raise_signature_error(
    key: RSAPrivateKey, header: str
) -> None:
    headers = {"Signature": header, "Host": "h", "Date": NOW_HTTP, "Digest": DIGEST_X}
    with pytest.raises(SignatureError):
        check_cavage(key, headers, b"x")
    assert cavage_key_id(headers) == "k"


# --- body digests ----------------------------------------------------------------------------


def test_digest_values() -> None:
    assert sha256_digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert sha256_content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def test_check_body_digest_accepts_either_header_and_sha512() -> None:
    sha512 = b64(hashlib.sha512(BODY).digest())
    check_body_digest({"Digest": sha256_digest_header(BODY)}, BODY)
    check_body_digest({"CONTENT-DIGEST": sha256_content_digest(BODY)}, BODY)
    check_body_digest({"digest": f"sha-512={sha512}"}, BODY)
    check_body_digest({"content-digest": f"sha-512=:{sha512}:, md5=:AAAA:"}, BODY)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no Digest or Content-Digest header"),
        ({"Digest": sha256_digest_header(b"other")}, "Digest sha-256 does not match"),
        (
            {"Digest": sha256_digest_header(BODY), "Content-Digest": sha256_content_digest(b"")},
            "Content-Digest sha-256 does not match",
        ),
        ({"Digest": "MD5=" + b64(hashlib.md5(BODY).digest())}, "weak digest"),  # noqa: S324
        ({"Content-Digest": "md5=:AAAA:"}, "weak digest"),
        ({"Digest": "SHA-384=AAAA"}, "unsupported digest"),
        ({"Digest": "SHA-256=not base64!"}, "not base64"),
        ({"Digest": "SHA-256"}, "malformed Digest"),
        ({"Content-Digest": "sha-256=AAAA"}, "not a byte sequence"),
        ({"Content-Digest": "sha-256=:AAAA"}, "malformed Content-Digest"),
    ],
)
def test_check_body_digest_refuses(headers: dict, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        check_body_digest(headers, BODY)


# --- RFC 9421 --------------------------------------------------------------------------------


def rfc9421(key: RSAPrivateKey, method: str, url: str, body: bytes | None, **kw) -> dict:
    added = sign_rfc9421(
        method=method, url=url, headers=JSON, body=body, key_id=KEY_ID, private_key=key, **kw
    )
    return {**JSON, **added}


def check_rfc9421(key: RSAPrivateKey, headers, body: bytes | None, **kw) -> None:
    kw.setdefault("now", NOW)
    verify_rfc9421(
        method=kw.pop("method", "POST"),
        url=kw.pop("url", INBOX),
        headers=headers,
        body=body,
        public_key=key.public_key(),
        **kw,
    )


def library_signed(
    key: RSAPrivateKey, method: str, url: str, body: bytes | None, **options
) -> dict:
    """Headers of a request signed by http_message_signatures itself, not by our code."""

    class Request:
        def __init__(self) -> None:
            self.method, self.url = method, url
            self.headers = {"Host": "nabuur.example", "Date": NOW_HTTP}

    request = Request()
    algorithm = options.pop("algorithm", algorithms.RSA_V1_5_SHA256)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key}),
    )
    options.setdefault("covered_component_ids", ("@method", "@target-uri", "@authority"))
    signer.sign(request, key_id=KEY_ID, created=NOW, body=body, **options)
    return request.headers


def test_rfc9421_post_round_trip(key: RSAPrivateKey) -> None:
    headers = rfc9421(key, "POST", INBOX, BODY, now=NOW)
    assert headers["content-digest"] == sha256_content_digest(BODY)
    assert headers["signature-input"] == (
        'sig1=("@method" "@target-uri" "@authority" "content-digest");'
        f'created={int(NOW.timestamp())};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert headers["signature"].startswith("sig1=:")
    check_rfc9421(key, headers, BODY)
    assert rfc9421_key_id(headers) == KEY_ID


def test_rfc9421_get_with_query_round_trip(key: RSAPrivateKey) -> None:
    headers = rfc9421(key, "get", OUTBOX, None, now=NOW)
    assert "content-digest" not in headers
    check_rfc9421(key, headers, None, method="GET", url=OUTBOX)
    with pytest.raises(SignatureError, match="does not match"):
        check_rfc9421(key, headers, None, method="GET", url=OUTBOX.replace("page=2", "page=3"))


def test_rfc9421_accepts_a_signature_made_by_the_library_itself(key: RSAPrivateKey) -> None:
    # Fedify's default coverage: derived components plus host, date and the digest.
    components = ("@method", "@target-uri", "@authority", "host", "date")
    headers = library_signed(
        key, "POST", INBOX, BODY, label="fedify", covered_component_ids=components
    )
    check_rfc9421(key, headers, BODY)
    assert key_id_of(headers) == KEY_ID


def test_rfc9421_takes_the_first_signature_whose_input_parses(key: RSAPrivateKey) -> None:
    headers = library_signed(key, "POST", INBOX, BODY, label="good")
    unusable = 'bad=:AAAA:, worse=("@method");created=1, '
    headers["Signature-Input"] = unusable + headers["Signature-Input"]
    headers["Signature"] = "bad=:AAAA:, worse=:AAAA:, " + headers["Signature"]
    check_rfc9421(key, headers, BODY)
    assert rfc9421_key_id(headers) == KEY_ID


def test_rfc9421_refuses_a_content_digest_mismatch(key: RSAPrivateKey) -> None:
    headers = rfc9421(key, "POST", INBOX, BODY, now=NOW)
    with pytest.raises(SignatureError, match="Content-Digest sha-256 does not match the body"):
        check_rfc9421(key, headers, BODY[:-1])


def test_rfc9421_refuses_an_uncovered_content_digest(key: RSAPrivateKey) -> None:
    headers = library_signed(key, "POST", INBOX, None)
    headers["Content-Digest"] = sha256_content_digest(BODY)
    with pytest.raises(SignatureError, match="content-digest is not covered"):
        check_rfc9421(key, headers, BODY)


@pytest.mark.parametrize(
    ("signed_at", "reason"),
    [
        (NOW - timedelta(hours=2), "created is 2 hours old"),
        (NOW + timedelta(minutes=61), "created is 61 minutes in the future"),
    ],
)
def test_rfc9421_refuses_created_outside_the_window(
    key: RSAPrivateKey, signed_at: datetime, reason: str
) -> None:
    headers = rfc9421(key, "POST", INBOX, BODY, now=signed_at)
    with pytest.raises(SignatureError) as caught:
        check_rfc9421(key, headers, BODY)
    assert caught.value.reason == reason
    # The library's own 5 s default skew would refuse this; ours is the window we were given.
    check_rfc9421(key, headers, BODY, now=signed_at - timedelta(minutes=50))


def test_rfc9421_refuses_an_expired_signature(key: RSAPrivateKey) -> None:
    headers = library_signed(key, "POST", INBOX, BODY, expires=NOW - timedelta(seconds=1))
    with pytest.raises(SignatureError, match="expired"):
        check_rfc9421(key, headers, BODY)


def test_rfc9421_refuses_the_wrong_key_and_a_tampered_url(
    key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    headers = rfc9421(key, "POST", INBOX, BODY, now=NOW)
    with pytest.raises(SignatureError, match="signature does not match"):
        check_rfc9421(other_key, headers, BODY)
    with pytest.raises(SignatureError, match="signature does not match"):
        check_rfc9421(key, headers, BODY, url=INBOX.replace("bo", "cy"))


def test_rfc9421_refuses_other_algorithms_and_weak_coverage(key: RSAPrivateKey) -> None:
    pss = library_signed(key, "POST", INBOX, BODY, algorithm=algorithms.RSA_PSS_SHA512)
    with pytest.raises(SignatureError, match="unsupported alg 'rsa-pss-sha512'"):
        check_rfc9421(key, pss, BODY)
    no_method = library_signed(key, "POST", INBOX, BODY, covered_component_ids=("@target-uri",))
    with pytest.raises(SignatureError, match="@method is not covered"):
        check_rfc9421(key, no_method, BODY)
    no_target = library_signed(key, "POST", INBOX, BODY, covered_component_ids=("@method",))
    with pytest.raises(SignatureError, match="@target-uri"):
        check_rfc9421(key, no_target, BODY)


def test_rfc9421_accepts_authority_and_path_and_a_missing_alg(key: RSAPrivateKey) -> None:
    headers = library_signed(
        key,
        "POST",
        INBOX,
        BODY,
        include_alg=False,
        covered_component_ids=("@method", "@authority", "@path"),
    )
    assert "alg=" not in headers["Signature-Input"]
    check_rfc9421(key, headers, BODY)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(), st.text())
def test_rfc9421_random_headers_only_raise_signature_error(
    key: RSAPrivateKey, signature_input: str, signature: str
) -> None:
    headers = {"Signature-Input": signature_input, "Signature": signature}
    with pytest.raises(SignatureError):
        check_rfc9421(key, headers, BODY)
    assert rfc9421_key_id(headers) is None or isinstance(rfc9421_key_id(headers), str)


# --- dispatch --------------------------------------------------------------------------------


def test_profile_and_key_id_dispatch(key: RSAPrivateKey) -> None:
    drafted = cavage(key, "GET", OUTBOX, None)
    standard = rfc9421(key, "GET", OUTBOX, None)
    assert signature_profile(drafted) == "cavage"
    assert signature_profile(standard) == "rfc9421"
    assert signature_profile(JSON) is None
    assert key_id_of(drafted) == key_id_of(standard) == KEY_ID
    assert key_id_of(JSON) is None
