"""CPU time one fresh page costs the node, measured in-process: a tool for working on a page.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/page_cpu.py                     # both pages, SQLite
    .venv/bin/python tests/benchmarks/page_cpu.py --backend postgres --profile 25

It prepares a database exactly as `pages.py` does (`nabuur init`, the same seeding, a
logged-in resident), builds the node's app in this process and sends it requests through
ASGI, one after the other, as the resident (session and CSRF cookies) or anonymously
(`--anonymous`; the page cache is off either way). It prints the process CPU time per page
(`time.process_time`, so other load on the machine changes it little), and per /healthz
answer as the floor every request pays here; what PostgreSQL spends is not in it (pages.py
measures that). `--profile N` runs the pages again under cProfile and prints the N
functions with the most time of their own (`--callers REGEX`: and who calls those matching
it). The figure is the one to compare before and
after a change; the served figures (uvicorn, several processes, wrk) come from pages.py.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from tests.benchmarks.pages import pg_admin, prepare  # noqa: E402


async def _measure(client, paths: list[str], rounds: int, cookie: str) -> float:
    """Process CPU seconds per GET of `paths`, `rounds` times over (after one warm-up)."""
    headers = {"accept": "text/html", "accept-language": "nl", "cookie": cookie}
    for path in paths:
        answer = await client.get(path, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code}")
        if cookie and "nabuur_csrf" in cookie and 'action="/logout"' not in answer.text:
            raise RuntimeError(f"GET {path} is not the logged-in page")
    started = time.process_time()
    for _ in range(rounds):
        for path in paths:
            await client.get(path, headers=headers)
    return (time.process_time() - started) / (rounds * len(paths))


def _time_templates() -> list[float]:
    """CPU seconds of each template rendered from now on (jinja2's Template.render)."""
    from jinja2 import Template

    spent: list[float] = []
    render = Template.render

    def timed(self: Template, *args: object, **kwargs: object) -> str:
        started = time.process_time()
        try:
            return render(self, *args, **kwargs)
        finally:
            spent.append(time.process_time() - started)

    Template.render = timed  # type: ignore[method-assign]
    return spent


async def run(args: argparse.Namespace) -> None:
    import httpx

    from node import db
    from node.app import create_app
    from node.config import load_settings

    args.paths, args.seed, args.page_cache = 50, 1, 0
    args.logged_in = not args.anonymous
    workdir = Path(tempfile.mkdtemp(prefix="nabuur-page-cpu-"))
    url, env, pg_name, seeded = await prepare(args.backend, args, workdir)
    resident = seeded["resident"]
    cookie = (
        f"nabuur_session={resident['session']}; nabuur_csrf={resident['csrf']}" if resident else ""
    )
    settings = load_settings(environ={k: v for k, v in env.items() if k.startswith("NABUUR_")})
    app = create_app(settings, manage_database=False, workers=False)
    await db.open_database(url)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            pages = {
                "neighbourhood": [f"/n/{slug}" for slug in seeded["hoods"]],
                "request": [f"/r/{post_id}" for post_id in seeded["sample"]],
            }
            templates = _time_templates()
            floor = await _measure(client, ["/healthz"], 200, "")
            print(
                f"{args.backend}, {seeded['posts']} posts, "
                f"{'anonymous' if args.anonymous else 'logged in'}"
            )
            print(f"  /healthz floor: {floor * 1000:.2f} ms CPU per answer")
            for page in args.pages:
                templates.clear()
                per_page = await _measure(client, pages[page], args.rounds, cookie)
                rendering = sum(templates) / len(templates)
                print(
                    f"  {page}: {per_page * 1000:.2f} ms CPU per page, of which "
                    f"{rendering * 1000:.2f} ms in its template"
                )
            if args.profile:
                for page in args.pages:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await _measure(client, pages[page], max(1, args.rounds // 2), cookie)
                    profiler.disable()
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
                    stats.print_stats(*([args.only] if args.only else []), args.profile)
                    if args.callers:
                        stats.print_callers(args.callers)
                    print(f"--- {page}: where the time goes (own time)\n{out.getvalue()}")
    finally:
        await db.close_database()
        if pg_name:
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pages", nargs="+", default=["neighbourhood", "request"])
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the paths")
    parser.add_argument("--anonymous", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime, cumulative")
    parser.add_argument("--only", default="", help="show only functions matching this regex")
    parser.add_argument("--callers", default="", help="also who calls functions matching this")
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get("NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
