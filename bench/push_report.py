"""The pushes bench's figures (bench/pushes.py): what the client saw, what the processes
logged and the routing passes they made, as rows of the results table."""
from __future__ import annotations

import collections

from bench.common import Figure, percentile
from bench.push_processes import dropped, tracebacks


def report(out, n, processes, ports, baseline, logs, pass_log, account_id, load_seconds) -> list[Figure]:
    agents, client = out["agents"], out["client"]
    by_agent = {a.user_id: a for a in agents}
    incidents = [(kind, tail, at < out["err_sizes"][i])
                 for i in range(processes) for kind, tail, at in tracebacks(logs / f"web{i}.err")]
    consumer = [(tail, running) for kind, tail, running in incidents if kind == "Exception inside application"]
    others = [f"{kind}: {tail}" for kind, tail, _running in incidents if kind != "Exception inside application"]
    router_incidents = tracebacks(logs / "router.err")
    running_drops, closing_drops = [0, 0], [0, 0]
    for name, size in [("router.err", out["router_err_size"])] + [
        (f"web{i}.err", out["err_sizes"][i]) for i in range(processes)
    ]:
        text = (logs / name).read_bytes()
        for total, part in ((running_drops, text[:size]), (closing_drops, text[size:])):
            found = dropped(part.decode(errors="replace"))
            total[0] += found[0]
            total[1] += found[1]
    user_drops, account_drops = running_drops
    closes = collections.Counter(code for a in agents for code in a.closes)

    offers = out["offers"]
    framed = recovered = lost = outside = 0
    for offer_id, agent_id, _request, _state in offers:
        agent = by_agent.get(agent_id)
        if agent is None:
            outside += 1
            lost += 1
        elif offer_id in agent.offer_frames:
            framed += 1
        elif offer_id in agent.seen_by_reload:
            recovered += 1
        else:
            lost += 1
    states = collections.Counter(state for *_rest, state in offers)

    first: dict[int, tuple[int, int]] = {}
    for offer_id, agent_id, request_id, _state in offers:
        if request_id is not None and request_id not in first:
            first[request_id] = (offer_id, agent_id)
    latency = []
    for request_id, committed in out["commits"].items():
        if request_id in first:
            offer_id, agent_id = first[request_id]
            at = by_agent[agent_id].offer_frames.get(offer_id) if agent_id in by_agent else None
            if at is not None:
                latency.append((at - committed) * 1000)
    ping = [s * 1000 for s in client.ping_latency]

    window = out["window_end"][0] - out["window_start"][0]
    wall0, wall1 = out["window_start"][1], out["window_end"][1]
    passes = []
    if pass_log.exists():
        for row in pass_log.read_text().split("\n"):
            parts = row.split()
            if len(parts) == 4 and int(parts[2]) == account_id and wall0 <= float(parts[0]) <= wall1:
                passes.append((float(parts[1]) - float(parts[0]), int(parts[3])))
    made_here = sum(made for _d, made in passes)
    counts = [a.queue_changed for a in agents if a.hello.is_set()]
    per_socket = sum(counts) / len(counts) if counts else float("nan")
    sent = client.sent["queue.changed"]
    per_pass = sent / len(passes) if passes else float("nan")
    pass_ms = [d * 1000 for d, _m in passes]
    lag = [x * 1000 for x in client.lag]

    kinds = collections.Counter(tail for tail, _running in consumer)
    at_close = sum(1 for _tail, running in consumer if not running)
    per_process = collections.Counter(a.port for a in agents)
    rss_after = out["rss"]
    rss_note = "; ".join(
        f"web {i}: {before[0]:.0f} → {after[0]:.0f} MB with {per_process[port]} sockets "
        f"(~{(after[0] - before[0]) * 1024 / max(1, per_process[port]):.0f} KB/socket), CPU {after[1] - before[1]:.1f} s"
        for i, (port, before, after) in enumerate(zip(ports, baseline, rss_after, strict=True))
    )
    return [
        Figure(
            "sockets connected (hello received)", "", out["connected"], goal=f"{n}", met=out["connected"] == n,
            note=f"{n} agents over {processes} web processes, connected in {out['connect_seconds']:.1f} s; "
                 f"connect failures (then retried): {dict(client.connect_failures) or 'none'}",
        ),
        Figure(
            "consumer crashes (tracebacks in the web processes)", "", len(consumer), goal="0", met=not consumer,
            note=f"{'; '.join(f'{k} ×{v}' for k, v in kinds.most_common(3)) or 'none'}"
                 f"{f' ({at_close} of them while the client closed its sockets at the end)' if at_close else ''}; "
                 f"other tracebacks of the web processes: {len(others)} ({'; '.join(sorted(set(others))[:2]) or 'none'}); "
                 f"router: {len(router_incidents)} ({'; '.join(sorted({t for _k, t, _a in router_incidents})[:2]) or 'none'}); "
                 f"HTTP answers {dict(sorted(client.http.items()))}; logs in {logs}",
        ),
        Figure("sockets closed by the server", "", sum(closes.values()), goal="0", met=not closes,
               note=f"close codes {dict(closes)}; each reconnected and reloaded" if closes else ""),
        Figure(
            "lost offers (neither offer.new frame nor console reload)", "", lost, goal="0", met=lost == 0,
            note=f"{len(offers)} offers ({made_here} by this run's router{'; others by another router on sc_bench' if made_here < len(offers) else ''}): "
                 f"{framed} by frame, {recovered} only by an HTTP reload, {lost} lost"
                 f"{f' ({outside} to agents without a socket)' if outside else ''}; final states {dict(states)}; "
                 f"{len(out['commits'])} callback requests over {load_seconds:.0f} s; open after the drain: {out['open_left']}",
        ),
        Figure("offers that reached the agent only by an HTTP reload", "", recovered,
               note="the frame never came (or came after the run): the 30 s poll or the final reload showed it"),
        Figure(
            "pushes dropped by the channel layer (a socket's channel over capacity)", "", user_drops + account_drops,
            goal="0", met=user_drops + account_drops == 0,
            note=f"{user_drops} to one agent's group (offer.new/accepted/withdrawn), {account_drops} to the account's "
                 f"group (queue.changed ...), from the router's and the web processes' logs (channels_redis, "
                 f"capacity 100 per channel); the reference's own: {sum(out['bench_drops'])}; after the run, while "
                 f"the client closed its sockets: {sum(closing_drops)} more",
        ),
        Figure(
            "commit → offer.new frame, p50", "ms", percentile(latency, 50), percentile(ping, 50),
            "bare group_send → frame", note=f"{len(latency)} first offers of requests; reference: {len(ping)} "
                                            f"group_sends from the bench process; routing pass p50 {percentile(pass_ms, 50):.1f} ms, "
                                            f"p99 {percentile(pass_ms, 99):.1f} ms",
        ),
        Figure("commit → offer.new frame, p99", "ms", percentile(latency, 99), percentile(ping, 99),
               "bare group_send → frame", note=f"max {max(latency, default=float('nan')):,.0f} ms"),
        Figure(
            "queue.changed frames per socket (whole run)", "", per_socket,
            note=f"min {min(counts, default=0)}, max {max(counts, default=0)} over {len(counts)} sockets; "
                 f"{sum(counts):,} frames in {window:.0f} s; {len(passes)} routing passes by this run's router "
                 f"({sum(1 for _d, m in passes if m)} made offers)",
        ),
        Figure("queue.changed pushes to the account per routing pass", "", per_pass, goal="≤ 1, coalesced",
               met=None if per_pass != per_pass else per_pass <= 1,  # noqa: PLR0124 (NaN)
               note=f"{sent} queue.changed sent to the account's group (a channel of the bench process in the "
                    f"group counts them as sent) over {len(passes)} passes; each socket received {per_socket:.0f} "
                    f"({per_socket / sent if sent else float('nan'):.0%}) within the run"),
        Figure("queue.changed frames per socket per second", "/s", per_socket / window if window else float("nan"),
               goal="bounded per account"),
        Figure("web process RSS after the run (mean)", "MB", sum(r[0] for r in rss_after) / len(rss_after),
               note=rss_note),
        Figure("bench client's loop lag, p99 (50 ms timer)", "ms", percentile(lag, 99),
               note=f"client CPU {out['client_cpu'] / window:.0%} of one core over the window (sockets, HTTP, "
                    f"the committing thread); machine load average {out['loadavg'][0]:.1f} (shared machine)"),
    ]
