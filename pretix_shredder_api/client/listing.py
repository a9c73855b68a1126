"""``list``: the shredders of the event, all pages."""

from pretix_shredder_api.client.errors import CliError, ExitCode

MAX_PAGES = 1000


def fetch_shredders(ctx) -> list[dict]:
    session = ctx.session()
    url, seen, results = ctx.config.event_api_url(), set(), []
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise CliError(ExitCode.NETWORK, f"Listing shredders: the pages do not end (at {url})")
        seen.add(url)
        body = session.get_json(url, "Listing shredders")
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise CliError(ExitCode.NETWORK, "Listing shredders: the answer is not a list of results")
        results += [r for r in body["results"] if isinstance(r, dict)]
        url = body.get("next")
    return results


def list_command(ctx, args) -> int:
    ctx.config.require("url", "token", "organizer", "event")
    shredders = fetch_shredders(ctx)
    if ctx.json:
        ctx.console.json(
            [{"identifier": s.get("identifier"), "verbose_name": s.get("verbose_name")} for s in shredders]
        )
        return ExitCode.OK
    if not shredders:
        ctx.console.info("No shredders available for this event.")
    width = max((len(str(s.get("identifier"))) for s in shredders), default=0)
    for s in shredders:
        ctx.console.out(f"{str(s.get('identifier')):<{width}}  {s.get('verbose_name', '')}")
    return ExitCode.OK
