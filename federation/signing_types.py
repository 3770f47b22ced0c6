"""The shape of a request signer, shared by the HTTP client and the signing code."""

from collections.abc import Awaitable, Callable, Mapping

# (method, url, headers, body) -> headers to add, e.g. Date, Digest and Signature.
Signer = Callable[[str, str, Mapping[str, str], bytes | None], Mapping[str, str]]
# The same, signing away from the event loop (a thread pool): the client awaits it.
AsyncSigner = Callable[[str, str, Mapping[str, str], bytes | None], Awaitable[Mapping[str, str]]]
