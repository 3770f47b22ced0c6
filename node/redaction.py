"""Secrets taken out of what is shown: a database URL's password, for messages and logs."""


def redact_url(url: str) -> str:
    """A database URL with its password replaced by ***, for messages and logs.

    Split by hand, not with urlsplit: that raises on input like `x://[`, and cuts a
    password holding "#" at the "#", which then stayed visible."""
    scheme, sep, rest = url.partition("://")
    netloc_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, path = rest[:netloc_end], rest[netloc_end:]
    userinfo, at, host = netloc.rpartition("@")
    if not (sep and at and ":" in userinfo):
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{path}"
