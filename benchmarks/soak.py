"""Soak: crawl, embed and serve at once, for minutes, against fault-injecting replicas of the four museums, with a
worker killed about every --kill-every seconds, the database stopped and started once, and clients querying the API
throughout; then the faults stop, the pipeline drains, and the database and the answers are checked.

The real processes, as an operator runs them, each in its own process on one embedded Postgres under a temporary
ARTSEARCH_HOME: `artsearch crawl SOURCE --base-url REPLICA` for each museum (a finished pass is crawled again, a
killed or failed one resumed), `artsearch embed` workers (started again whenever they end, as a supervisor would),
`artsearch project` now and then, and one `artsearch serve` that is never restarted. The replicas run in this
process (tests.replicas: latency, hangs, 429 with Retry-After, 5xx, block pages, truncated bodies), as do the
closed-loop clients (benchmarks.harness: the web app's mix of requests). The server is stopped by `artsearch db stop`
and started by `artsearch db start`.

Checked at the end: every artwork the replicas hold is in the database once; each is embedded (one vector) or
failed with its reason, none pending and no claim leased; no duplicate rows; every kill was followed by a clean run
of what was killed; no 5xx but 503, and 503 only while the database was down (until --grace seconds after it
took connections again); every request answered; the API answering searches again without a restart, and how
long that took. Prints one JSON object; exits 1 when a check fails ("ok": false, "failed" names them).

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--clients 32] [--kill-every 30] [--records 5000] \
        [--fault-rate 0.05] [--image-fault-rate 0.05] [--db-down-s 20] [--workers 2] [--logs DIR]
"""

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.clip_model import save_random_clip  # noqa: E402
from backend.database import connect  # noqa: E402
from backend.store.hnsw import INDEX_PRESENT  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    ROOT,
    Answer,
    artsearch_command,
    artsearch_env,
    by_endpoint,
    run_clients,
    start_server,
    status_counts,
    tally,
    web_app_mix,
)
from tests.helpers import free_port, tiny_clip_config  # noqa: E402
from tests.replicas import ReplicaServer, start_replica  # noqa: E402

MUSEUMS = ("aic", "met", "cleveland", "rijksmuseum")
# A killed worker's claims come back within the run: the default lease outlasts a run.
SETTINGS = {"ARTSEARCH_LEASE_SECONDS": "20"}
CRAWL_PAUSE_S = 10.0  # between a finished pass and the next
EMBED_PAUSE_S = 5.0  # before a worker that ended (nothing left, killed or failed) starts again
PROJECT_PAUSE_S = 60.0  # between refits of the map
DB_DOWN_AT = 0.4  # of the run: the API's recovery is watched under load for most of the rest
NO_ANSWERS_LISTED = 20

# -- processes under supervision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run of a supervised command: when it started (time.monotonic) and its exit code."""

    started: float
    exit_code: int


@dataclass
class Role:
    """One supervised `artsearch` command: what it runs, its current process, its runs and when it was killed."""

    name: str
    command: list[str]
    pause_s: float
    process: asyncio.subprocess.Process | None = None
    runs: list[Run] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def running(self) -> bool:
        """Whether a process of this role runs now."""
        return self.process is not None and self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL the running process and its children (the crawl's workers), as `kill -9` of a job does."""
        if self.running():
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def survived(self) -> int:
        """How many of its kills a later run of the role followed to a clean end (exit code 0)."""
        return sum(any(run.started > killed and run.exit_code == 0 for run in self.runs) for killed in self.kills)


async def spawn(command: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """Start a command in a session of its own (so a kill reaches its children), its output into log."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


async def run_once(role: Role, env: dict[str, str], logs: Path) -> int:
    """One run of the role's command to its end; its exit code (negative: the signal that killed it)."""
    started = time.monotonic()
    role.process = await spawn(role.command, env, logs / f"{role.name}.log")
    exit_code = await role.process.wait()
    role.runs.append(Run(started, exit_code))
    return exit_code


async def supervise(role: Role, env: dict[str, str], logs: Path) -> None:
    """Run the role's command again whenever it ends, after its pause, until the role is told to stop."""
    while not role.stop.is_set():
        await run_once(role, env, logs)
        with suppress(TimeoutError):
            await asyncio.wait_for(role.stop.wait(), role.pause_s)


async def run_until_clean(role: Role, env: dict[str, str], logs: Path) -> None:
    """Run the role's command until one run ends cleanly."""
    while await run_once(role, env, logs) != 0:
        await asyncio.sleep(role.pause_s)


# -- the faults --------------------------------------------------------------------------------------------


async def kill_periodically(kinds: list[list[Role]], every_s: float, until: float) -> None:
    """Every every_s until `until`, SIGKILL one running process: of each kind in turn (embed workers, crawlers),
    and of that kind's running roles in turn."""
    for turn in itertools.count():
        if time.monotonic() + every_s > until:
            return
        await asyncio.sleep(every_s)
        running = [role for role in kinds[turn % len(kinds)] if role.running()]
        if running:
            role = running[turn // len(kinds) % len(running)]
            process, killed_at = role.process, time.monotonic()
            role.kill()
            if await process.wait() == -signal.SIGKILL:  # not one that ended by itself a moment before
                role.kills.append(killed_at)


@dataclass
class Outage:
    """The database server's stop and start (time.monotonic), and how each command ended."""

    stopping: float | None = None  # `artsearch db stop` began
    up: float | None = None  # after `artsearch db start`: the first connection it accepted
    exit_codes: list[int] = field(default_factory=list)

    def covers(self, moment: float, grace_s: float) -> bool:
        """Whether a moment lies between the stop and grace_s after the server took connections again."""
        return self.stopping is not None and self.up is not None and self.stopping <= moment <= self.up + grace_s


async def stop_database_once(db_env: dict[str, str], url: str, at: float, down_s: float, logs: Path) -> Outage:
    """At `at`, stop the database server for down_s seconds and start it again, as an operator's restart (or a
    crash and its recovery) would."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    outage = Outage(stopping=time.monotonic())
    stop = await spawn(artsearch_command("db", "stop"), db_env, logs / "db.log")
    outage.exit_codes.append(await stop.wait())
    await asyncio.sleep(down_s)
    start = await spawn(artsearch_command("db", "start"), db_env, logs / "db.log")
    outage.up = await until_reachable(url)
    outage.exit_codes.append(await start.wait())
    return outage


async def until_reachable(url: str) -> float:
    """When the server first accepts a connection (time.monotonic)."""
    while True:
        try:
            await asyncio.to_thread(lambda: psycopg.connect(url, connect_timeout=2).close())
            return time.monotonic()
        except psycopg.OperationalError:
            await asyncio.sleep(0.1)


def stop_faults(replicas: list[ReplicaServer]) -> None:
    """The museums answer without faults from now on."""
    for replica in replicas:
        replica.set_faults(0.0)
        replica.image_fault_rate = 0.0


# -- the run -----------------------------------------------------------------------------------------------


@dataclass
class Soak:
    """What happened during a run: the roles, the answers the clients got, the outage, and the drain."""

    started: float
    ended: float
    roles: list[Role]
    answers: list[Answer]
    outage: Outage
    drained: bool
    drain_s: float


async def soak(
    args: argparse.Namespace, env: dict[str, str], db_env: dict[str, str], url: str, replicas: list[ReplicaServer],
    base_url: str,
) -> Soak:  # fmt: skip
    """Every process and client at once for the run's minutes, the faults among them; then the drain."""
    started = time.monotonic()
    until = started + args.minutes * 60
    crawls = [crawl_role(replica) for replica in replicas]
    embeds = [Role(f"embed-{n}", artsearch_command("embed"), EMBED_PAUSE_S) for n in range(1, args.workers + 1)]
    roles = [*crawls, *embeds, Role("project", artsearch_command("project"), PROJECT_PAUSE_S)]
    for role in roles:
        role.task = asyncio.create_task(supervise(role, env, args.logs))
    clients = asyncio.create_task(run_clients(base_url, web_app_mix(), args.clients, until))
    down_at = started + DB_DOWN_AT * (until - started)
    outage = asyncio.create_task(stop_database_once(db_env, url, down_at, args.db_down_s, args.logs))
    await kill_periodically([embeds, crawls], args.kill_every, until)
    answers = await clients
    ended = time.monotonic()
    stopped = await outage
    stop_faults(replicas)
    try:
        await asyncio.wait_for(drain(roles, env, args.logs, url), args.drain_timeout)
        drained = True
    except TimeoutError:
        drained = False
        await stop_all(roles)
    return Soak(started, ended, roles, answers, stopped, drained, time.monotonic() - ended)


def crawl_role(replica: ReplicaServer) -> Role:
    """`artsearch crawl` of the replica's museum, pointed at it."""
    kind = replica.museum.kind
    return Role(f"crawl-{kind}", artsearch_command("crawl", kind, "--base-url", replica.base_url), CRAWL_PAUSE_S)


async def drain(roles: list[Role], env: dict[str, str], logs: Path, url: str) -> None:
    """With the faults gone: each crawl finishes its pass and crawls once more to a clean end, the map is left as
    it is, and the embed workers go on until nothing is pending; then they stop as their work runs out."""
    crawls = [role for role in roles if role.name.startswith("crawl")]
    projects = [role for role in roles if role.name == "project"]
    embeds = [role for role in roles if role.name.startswith("embed")]
    for role in (*crawls, *projects):
        role.stop.set()
    await asyncio.gather(*(role.task for role in (*crawls, *projects)))
    await asyncio.gather(*(run_until_clean(role, env, logs) for role in crawls))
    while await asyncio.to_thread(pending_artworks, url):
        await asyncio.sleep(1.0)
    for role in embeds:
        role.stop.set()
    await asyncio.gather(*(role.task for role in embeds))


async def stop_all(roles: list[Role]) -> None:
    """Kill whatever still runs (a final crawl of the drain's among them) and end every supervisor."""
    for role in roles:
        role.stop.set()
        role.kill()
    await asyncio.gather(*(role.task for role in roles))


def pending_artworks(url: str) -> int:
    """Artworks still to embed: pending, or claimed (a killed worker's claims, until their lease runs out)."""
    with connect(url) as conn:
        query = "SELECT count(*) FROM artworks WHERE embed_status IN ('pending', 'claimed') AND NOT deleted"
        return conn.execute(query).fetchone()[0]


# -- what the database holds -------------------------------------------------------------------------------

PER_SOURCE = """
SELECT source, count(*), count(DISTINCT source_id),
       count(*) FILTER (WHERE embed_status = 'embedded'), count(*) FILTER (WHERE embed_status = 'failed'),
       count(*) FILTER (WHERE embed_status = 'pending'), count(*) FILTER (WHERE embed_status = 'claimed')
FROM artworks WHERE NOT deleted GROUP BY source
"""
DUPLICATES = {
    "artworks": "SELECT count(*) FROM (SELECT 1 FROM artworks GROUP BY source, source_id HAVING count(*) > 1) d",
    "embeddings": "SELECT count(*) FROM (SELECT 1 FROM embeddings GROUP BY artwork_id HAVING count(*) > 1) d",
    "thumbnails": "SELECT count(*) FROM (SELECT 1 FROM thumbnails GROUP BY artwork_id HAVING count(*) > 1) d",
    "map_positions": "SELECT count(*) FROM (SELECT 1 FROM map_positions GROUP BY artwork_id HAVING count(*) > 1) d",
}
VECTORS_MISMATCHED = """
SELECT count(*) FROM artworks a LEFT JOIN embeddings e ON e.artwork_id = a.id
WHERE (a.embed_status = 'embedded') <> (e.artwork_id IS NOT NULL)
"""
EMBED_FAILURES = "SELECT coalesce(embed_error, 'none'), count(*) FROM artworks WHERE embed_status = 'failed' GROUP BY 1"
CRAWL_FAILURES = "SELECT reason, count(*) FROM crawl_failures GROUP BY 1"
LEASED = "SELECT count(*) FROM artworks WHERE embed_status = 'claimed' OR lease_expires_at > now()"


def database_state(url: str, replicas: list[ReplicaServer]) -> dict[str, object]:
    """Per museum, the artworks expected and found and where their embedding stands; failures by reason;
    duplicates; vectors without an embedded artwork or the reverse; claims still leased; the HNSW index."""
    expected = {replica.museum.kind: replica.museum.count for replica in replicas}
    with connect(url) as conn:
        found = {row[0]: row[1:] for row in conn.execute(PER_SOURCE)}
        keys = ("found", "distinct_source_ids", "embedded", "failed", "pending", "claimed")
        artworks = {
            museum: {"expected": count, **dict(zip(keys, found.get(museum, (0,) * len(keys)), strict=True))}
            for museum, count in expected.items()
        }
        return {
            "artworks": artworks,
            "embed_failures": dict(conn.execute(EMBED_FAILURES).fetchall()),
            "crawl_failures": dict(conn.execute(CRAWL_FAILURES).fetchall()),
            "duplicates": {table: conn.execute(query).fetchone()[0] for table, query in DUPLICATES.items()},
            "vectors_mismatched": conn.execute(VECTORS_MISMATCHED).fetchone()[0],
            "claims_leased": conn.execute(LEASED).fetchone()[0],
            "hnsw_index": conn.execute(INDEX_PRESENT).fetchone()[0],
        }


# -- the report --------------------------------------------------------------------------------------------


def answers_report(run: Soak, grace_s: float) -> dict[str, object]:
    """The statuses the clients saw: the 503s while the database was down and otherwise, other 5xx, requests that
    got no answer, and how soon after the restart searches were answered again."""
    answers, outage = run.answers, run.outage
    unavailable = [answer.answered for answer in answers if answer.status == 503]
    while_down = sum(outage.covers(moment, grace_s) for moment in unavailable)
    after_up = [moment - outage.up for moment in unavailable if outage.up is not None and moment > outage.up]
    return {
        "requests": len(answers),
        "per_s": round(len(answers) / (run.ended - run.started), 1),
        "statuses": status_counts(answers),
        "by_endpoint": by_endpoint(answers),
        "503_while_down": while_down,
        "503_otherwise": len(unavailable) - while_down,
        "5xx_but_503": sum(answer.status >= 500 and answer.status != 503 for answer in answers),
        "no_answer": sum(answer.status == 0 for answer in answers),
        "no_answer_why": tally(answer.error for answer in answers if answer.status == 0),
        "no_answer_sent_at_s": [round(a.sent - run.started, 1) for a in answers if a.status == 0][:NO_ANSWERS_LISTED],
        "last_503_after_restart_s": round(max(after_up), 2) if after_up else None,
        "search_recovery_s": recovery_s(answers, outage),
    }


def recovery_s(answers: list[Answer], outage: Outage) -> float | None:
    """Seconds from the database taking connections again to the first search the API answered after that."""
    if outage.up is None:
        return None
    searches = [a.answered for a in answers if a.endpoint == "search" and a.status == 200 and a.answered > outage.up]
    return round(min(searches) - outage.up, 2) if searches else None


def outage_report(run: Soak) -> dict[str, object]:
    """When the database went down and came back, in seconds from the start, and how its commands ended."""
    outage = run.outage

    def since_start(moment: float | None) -> float | None:
        return None if moment is None else round(moment - run.started, 1)

    down_s = None if outage.up is None else round(outage.up - outage.stopping, 1)
    return {
        "stopped_at_s": since_start(outage.stopping),
        "up_at_s": since_start(outage.up),
        "down_s": down_s,
        "exit_codes": outage.exit_codes,
    }


def processes_report(roles: list[Role]) -> dict[str, dict[str, object]]:
    """Per supervised command: its runs, how they ended (exit codes; -9: killed), its kills and those survived."""
    return {
        role.name: {
            "runs": len(role.runs),
            "exit_codes": tally(run.exit_code for run in role.runs),
            "killed": len(role.kills),
            "kills_survived": role.survived(),
        }
        for role in roles
    }


def failed_checks(report: dict) -> list[str]:
    """The names of the checks the report fails."""
    database, answers, processes = report["database"], report["answers"], report["processes"].values()
    museums = database["artworks"].values()
    kills = sum(role["killed"] for role in processes)
    checks = {
        "every_artwork_found_once": all(m["found"] == m["expected"] == m["distinct_source_ids"] for m in museums),
        "each_embedded_or_failed": all(m["embedded"] + m["failed"] == m["found"] for m in museums),
        "no_claim_leased": database["claims_leased"] == 0,
        "no_duplicate_rows": not any(database["duplicates"].values()),
        "one_vector_per_embedded_artwork": database["vectors_mismatched"] == 0,
        "every_failure_has_its_reason": "none" not in database["embed_failures"],
        "hnsw_index_present": database["hnsw_index"],
        "kills_survived": 0 < kills == sum(role["kills_survived"] for role in processes),
        "database_stopped_and_started": report["database_outage"]["exit_codes"] == [0, 0],
        "no_5xx_but_503": answers["5xx_but_503"] == 0,
        "503_only_while_down": answers["503_otherwise"] == 0,
        "every_request_answered": answers["no_answer"] == 0,
        "api_recovered_by_itself": answers["search_recovery_s"] is not None and report["server_never_restarted"],
        "drained": report["drained"],
    }
    return [name for name, passed in checks.items() if not passed]


def build_report(
    args: argparse.Namespace, run: Soak, database: dict, replicas: list[ReplicaServer], server_alive: bool
) -> dict[str, object]:
    """The JSON report, its checks and whether all passed."""
    report: dict[str, object] = {
        "benchmark": "soak",
        "minutes": args.minutes,
        "clients": args.clients,
        "kill_every_s": args.kill_every,
        "records_per_museum": args.records,
        "fault_rate": args.fault_rate,
        "image_fault_rate": args.image_fault_rate,
        "embed_workers": args.workers,
        "grace_s": args.grace,
        "cores": os.cpu_count(),
        "database": database,
        "processes": processes_report(run.roles),
        "faults_injected": {r.museum.kind: dict(r.faults_injected) for r in replicas},
        "database_outage": outage_report(run),
        "answers": answers_report(run, args.grace),
        "server_never_restarted": server_alive,
        "drained": run.drained,
        "drain_s": round(run.drain_s, 1),
    }
    failed = failed_checks(report)
    return {"ok": not failed, "failed": failed, **report}


# -- setting up and tearing down ---------------------------------------------------------------------------


def start_replicas(args: argparse.Namespace) -> list[ReplicaServer]:
    """One fault-injecting replica of each museum, with its image CDN."""
    return [
        start_replica(
            museum, records=args.records, fault_rate=args.fault_rate, image_fault_rate=args.image_fault_rate, seed=seed
        )
        for seed, museum in enumerate(MUSEUMS, start=1)
    ]


def start_database(db_env: dict[str, str]) -> str:
    """The embedded server under ARTSEARCH_HOME, started as an operator starts it; its URL."""
    command = artsearch_command("db", "url")
    return subprocess.run(command, env=db_env, cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()[-1]


def tear_down(server: subprocess.Popen | None, replicas: list[ReplicaServer], db_env: dict, work: Path) -> None:
    """Stop the server, the replicas and the database, and remove the working directory."""
    if server is not None:
        server.terminate()
        server.wait(timeout=30)
    for replica in replicas:
        replica.stop()
    subprocess.run(artsearch_command("db", "stop"), env=db_env, cwd=ROOT, capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds between kills")
    parser.add_argument("--records", type=int, default=5000, help="per museum")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="of API requests")
    parser.add_argument("--image-fault-rate", type=float, default=0.05, help="of image requests")
    parser.add_argument("--db-down-s", type=float, default=20.0, help="how long the database stays down")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds after the restart a 503 still counts as down")
    parser.add_argument("--workers", type=int, default=2, help="embed workers")
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--logs", type=Path, help="keep every process's output here")
    return parser.parse_args()


def main() -> None:
    """Set up, soak, drain, check; one JSON object out."""
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="assoak-"))
    args.logs = args.logs or work / "logs"
    args.logs.mkdir(parents=True, exist_ok=True)
    home, model = work / "home", save_random_clip(work / "tiny-clip", tiny_clip_config())
    db_env = artsearch_env(home, model, None)
    replicas, server = start_replicas(args), None
    try:
        url = start_database(db_env)
        # Each process is given the server's URL: with DATABASE_URL unset it would start the embedded server
        # itself on finding it down (backend.database.database_url), and a worker restarted then would end the outage.
        env = artsearch_env(home, model, url, **SETTINGS)
        subprocess.run(artsearch_command("db", "migrate"), env=env, cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        with (args.logs / "serve.log").open("wb") as log:
            server = start_server(env, port, log)
        run = asyncio.run(soak(args, env, db_env, url, replicas, f"http://127.0.0.1:{port}"))
        report = build_report(args, run, database_state(url, replicas), replicas, server.poll() is None)
    finally:
        tear_down(server, replicas, db_env, work)
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
