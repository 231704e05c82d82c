"""A deterministic, plausible engineering organisation as ingest-format records.

``generate(scale, seed, today)`` yields the records of ``ingest-format.md`` lazily: the org
(teams, contributors, repositories) first, then team by team each repository's history
(commits, pull requests, reviews, deployments, incidents, quality), then the team's objectives
and work items. Memory is bounded by the largest repository, not by the organisation. The same
``seed`` and ``today`` give the same records, in the same order, in any process (every random
stream is a ``random.Random`` seeded with a string, and nothing iterates a set).

The shapes it promises (tests in ``tests/demo`` check them on the small scale):
- People work in their own time zone (a fixed UTC offset per person, no DST), Monday to Friday,
  starting between 08:00 and 10:30, for 8 to 9 hours. A wait that ends outside someone's
  working hours is pushed to their next working morning (each person answers anyway 3% to 33%
  of the time), so weekends and nights are quiet. Commit timestamps carry the author's offset, as git records them; API
  timestamps (pull requests, reviews, deployments, incidents) are in UTC.
- Waits are lognormal: coding time, pickup (ready to first review), approval to merge, incident
  resolution and the delay from a deployment to the incident it causes. PR size is lognormal
  too, so most PRs are small and a few are huge.
- Teams have a profile. ``fast`` teams open small PRs, review within an hour or two, deploy every
  merge and rarely break production; ``slow`` ones open big PRs, wait a day for review, deploy
  weekly in large, riskier batches; ``steady`` ones deploy daily through staging. One team
  *degrades*: over the last ``max(60, days / 6)`` days its waits, PR sizes, deployment failures
  and incident odds rise linearly to ``DEGRADE_MAX`` times their steady value.
- A successful production deployment causes an incident with a probability that grows with
  the lines it ships (risky, big deployments) and on Friday afternoons. A third of those
  incidents name their deployment; the rest are left to time-window attribution. An incident is answered
  by a rollback (redeploying the previous good sha), a hotfix (a small PR reviewed and deployed
  within the hour, kind ``hotfix``) or a fix forward; a few stay open.
- Bots: ``dependabot[bot]`` / ``renovate[bot]`` open weekly dependency PRs (label
  ``dependencies``), ``github-actions[bot]`` commits release bumps before weekly deploys,
  ``sonarcloud[bot]`` comments on PRs within minutes.
- Half the repositories' deployments list the commits they ship; the others give only ``sha``
  and leave the loader to walk the commit graph (both rules of the spec are exercised).
- Coverage drifts per repository (some decline steadily); objectives are delivered on time,
  late, dropped, on track or at risk; work items link merged PRs as ``owner/name#number`` and
  carry feature/bug/chore in ``kind`` (the spec's ``type``, which the record type occupies).

Small scale (what ``make run`` loads): teams ``product`` (steady) with sub-teams ``payments``
(fast) and ``growth`` (degrades), ``platform`` (slow) with sub-team ``sre`` (fast); 20
repositories, 40 people plus 4 bots, 182 days ending ``today``. Large scale: 50 teams (7
departments of sub-teams), 200 repositories, 2,000 people, 730 days; six fast teams, seven slow
ones and one that degrades, chosen by the seed. Every timestamp is before ``today`` 00:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Record = dict[str, Any]
ScaleName = Literal["small", "large"]

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
OWNER = "acme"
DEGRADE_MAX = 4.0
# 1970-01-01 was a Thursday: (days since epoch + 3) % 7 is the weekday with Monday = 0.
_THURSDAY = 3
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Scale:
    """The size of a demo organisation."""

    name: str
    teams: int
    repositories: int
    contributors: int  # people; bots come on top
    days: int
    prs_per_person_day: float  # median PRs a person opens per working day


SCALES: dict[str, Scale] = {
    "small": Scale("small", teams=5, repositories=20, contributors=40, days=182, prs_per_person_day=0.3),
    "large": Scale("large", teams=50, repositories=200, contributors=2000, days=730, prs_per_person_day=0.23),
}


@dataclass(frozen=True)
class Profile:
    """How a team works; hours are medians of lognormal waits."""

    name: str
    coding_hours: float  # first commit -> PR opened
    pickup_hours: float  # ready for review -> first review
    merge_hours: float  # approval -> merge
    size_lines: float  # median lines changed per PR
    rework: float  # chance a review round asks for changes
    deploy: str  # on_merge | daily | weekly
    deploy_failure: float  # chance a deployment job fails
    incident: float  # incident odds of a production deployment shipping 400 lines
    restore_hours: float  # incident resolution when fixed forward
    activity: float  # PR rate multiplier
    rollback: float  # share of deployment incidents answered by a rollback
    hotfix: float  # ... by a hotfix (the rest are fixed forward)


PROFILES: dict[str, Profile] = {
    "fast": Profile("fast", 3, 0.8, 0.4, 60, 0.12, "on_merge", 0.02, 0.05, 1.0, 1.25, 0.5, 0.35),
    "steady": Profile("steady", 10, 5, 2, 140, 0.3, "daily", 0.05, 0.07, 4, 1.0, 0.35, 0.3),
    "slow": Profile("slow", 30, 20, 6, 320, 0.45, "weekly", 0.08, 0.07, 12, 0.8, 0.15, 0.25),
}

BOTS = ("dependabot[bot]", "renovate[bot]", "github-actions[bot]", "sonarcloud[bot]")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# (minutes east of UTC); fixed offsets, DST ignored.
ZONES = (0, 60, 120, -300, -480, 330, 480, -180)

FIRST_NAMES = _words(
    "Ada Alan Alice Amara Ana Andrei Anika Arjun Ben Bianca Carlos Chen Chloe Dana David Diego Elena "
    "Emil Eva Farah Felix Fatima Grace Hana Hugo Ines Ivan Jana Jonas Julia Kai Kenji Lara Leo Lina "
    "Luca Maya Mateo Mei Mia Nadia Nico Nina Noah Olga Omar Paula Priya Rafael Rosa Sami Sara Sofia "
    "Tariq Theo Uma Vera Wei Yara Zoe"
)
LAST_NAMES = _words(
    "Abbott Adeyemi Alvarez Andersen Bauer Becker Costa Dubois Eriksen Fischer Garcia Gupta Hansen "
    "Haddad Ito Ivanova Jensen Kaur Khan Kim Kowalski Larsen Lopez Martin Meyer Moreau Nakamura Novak "
    "Okafor Olsen Park Patel Pereira Petrov Quinn Rossi Russo Sato Schmidt Silva Singh Smith Suzuki "
    "Tanaka Taylor Torres Turner Varga Wagner Walsh Wang Weber Wilson Wong Yamamoto Young Zhang "
    "Ziegler Zhou"
)

FEATURE_VERBS = ("Add", "Support", "Introduce", "Implement", "Expose", "Enable")
BUG_VERBS = ("Fix", "Handle", "Guard against", "Correct", "Prevent")
CHORE_VERBS = ("Refactor", "Clean up", "Update", "Simplify", "Document", "Upgrade")
NOUNS = (
    "retry on timeout",
    "pagination cursor",
    "rate limiting",
    "currency rounding",
    "idempotency keys",
    "webhook signature check",
    "audit log entries",
    "feature flag",
    "cache invalidation",
    "CSV export",
    "dark mode",
    "search filters",
    "session expiry",
    "bulk update endpoint",
    "metrics dashboard",
    "parser null handling",
    "time zone handling",
    "flaky integration test",
    "database migration",
    "connection pool sizing",
    "error messages",
    "input validation",
    "batch job scheduling",
    "OpenAPI schema",
    "health check",
    "logging context",
    "SSO login",
    "invoice numbering",
    "refund flow",
    "onboarding checklist",
)
SLUGS = tuple(noun.lower().replace(" ", "-") for noun in NOUNS)
FOLLOW_UPS = ("Address review comments", "Fix tests", "Add tests", "Tidy up", "Update docs", "Fix lint")
PACKAGES = _words(
    "lodash axios requests urllib3 pyyaml jackson-databind express react django boto3 pydantic "
    "webpack eslint sqlalchemy pytest"
)
INCIDENT_TITLES = (
    "Elevated 5xx rate on {name}",
    "{name} latency above SLO",
    "{name} error budget burn",
    "Failed jobs in {name}",
    "{name} returning stale data",
    "Memory leak in {name}",
)
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
SEVERITY_WEIGHTS = (1, 4, 10, 6)
STORY_POINTS = (1, 2, 3, 5, 8, 13)
STORY_POINT_WEIGHTS = (10, 25, 30, 20, 10, 5)

# The small org, fixed so that tests and the README can name its teams.
SMALL_TEAMS = (
    # key, name, parent, profile, degrades, zone (minutes), people
    ("product", "Product", None, "steady", False, -300, 8),
    ("payments", "Payments", "product", "fast", False, 60, 9),
    ("growth", "Growth", "product", "steady", True, 0, 9),
    ("platform", "Platform", None, "slow", False, 60, 8),
    ("sre", "Site Reliability", "platform", "fast", False, 330, 6),
)
SMALL_REPOSITORIES = (
    # name, team, project
    ("checkout-api", "payments", "Checkout"),
    ("payments-service", "payments", "Checkout"),
    ("billing-worker", "payments", "Billing"),
    ("fraud-scoring", "payments", "Billing"),
    ("invoice-pdf", "payments", "Billing"),
    ("web-storefront", "growth", "Storefront"),
    ("recommendations", "growth", "Growth Engine"),
    ("email-campaigns", "growth", "Growth Engine"),
    ("experiments-sdk", "growth", "Growth Engine"),
    ("mobile-app", "product", "Storefront"),
    ("design-system", "product", "Storefront"),
    ("search-service", "product", "Catalog"),
    ("catalog-api", "product", "Catalog"),
    ("api-gateway", "platform", "Developer Platform"),
    ("auth-service", "platform", "Developer Platform"),
    ("terraform-modules", "platform", "Developer Platform"),
    ("ci-templates", "platform", "Developer Platform"),
    ("observability-stack", "sre", "Reliability"),
    ("incident-bot", "sre", "Reliability"),
    ("k8s-manifests", "sre", "Reliability"),
)
DEPARTMENTS = ("Platform", "Payments", "Growth", "Data", "Mobile", "Identity", "Commerce")
AREAS = _words(
    "Core API Web Infra Insights Billing Search Checkout Catalog Messaging Onboarding Pricing Ledger "
    "Risk Storage Compute Network Observability Release Tooling Experiments Notifications Accounts "
    "Sessions Fulfilment Inventory Analytics Streaming ML Warehouse Android iOS Design Localization "
    "Partners Ads Loyalty Support Compliance Security Edge Cache Queue Scheduler"
)
REPO_SUFFIXES = ("api", "service", "worker", "web", "sdk", "infra", "jobs", "cli", "lib", "ui", "pipeline")


_hour_text: dict[int, str] = {}
_MINUTE_SECOND = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]


def _iso(t: int, offset: int, suffix: str) -> str:
    """ISO-8601 text of epoch second ``t`` shown at ``offset`` seconds east of UTC."""
    # Formatting is a large share of generation time: cache the "YYYY-MM-DDTHH:" prefixes.
    hours, seconds = divmod(t + offset, HOUR)
    prefix = _hour_text.get(hours)
    if prefix is None:
        day, hour = divmod(hours, 24)
        prefix = _hour_text[hours] = f"{dt.date.fromordinal(_EPOCH_ORDINAL + day).isoformat()}T{hour:02d}:"
    return prefix + _MINUTE_SECOND[seconds] + suffix


def _lognormal(rng: random.Random, mu: float, sigma: float) -> float:
    """``rng.lognormvariate`` through the faster ``gauss``."""
    return math.exp(rng.gauss(mu, sigma))


def _utc(t: int) -> str:
    return _iso(t, 0, "Z")


def _zone_suffix(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _date(t: int) -> str:
    return dt.date.fromordinal(_EPOCH_ORDINAL + t // DAY).isoformat()


@dataclass(slots=True)
class _Person:
    login: str
    name: str
    team: str | None
    offset: int  # seconds east of UTC
    suffix: str
    work_start: int  # seconds after local midnight
    work_end: int
    rate: float
    off_hours: float = 0.0  # chance of answering outside working hours
    is_bot: bool = False


@dataclass(slots=True)
class _Repo:
    key: str
    name: str
    team: _Team
    project: str
    default_branch: str
    weight: float
    lists_commits: bool
    staging: bool
    bot: str | None
    sonar: bool


@dataclass(slots=True)
class _Team:
    key: str
    name: str
    parent: str | None
    profile: Profile
    degrades: bool
    zone: int  # minutes east of UTC
    prefix: str
    members: list[_Person] = field(default_factory=list)
    repos: list[_Repo] = field(default_factory=list)


@dataclass(slots=True)
class _PR:
    author: _Person
    created: int
    kind: str  # feature | bug | chore | dependencies
    title: str
    head_branch: str
    base_branch: str
    additions: int
    deletions: int
    files: int
    labels: list[str]
    commit_times: list[int]
    commit_authors: list[_Person]
    reviews: list[tuple[int, _Person, str]]
    ready: int | None = None
    draft: bool = False
    merged: int | None = None
    closed: int | None = None
    merger: _Person | None = None
    on_default: bool = True
    hotfix_incident: Record | None = None
    shas: list[str] = field(default_factory=list)
    base_sha: str | None = None
    merge_sha: str | None = None
    merge_parents: list[str] = field(default_factory=list)
    number: int = 0


@dataclass(slots=True)
class _Objective:
    key: str
    title: str
    start: int
    target: int
    cutoff: int  # work started after this is not part of it
    outcome: str  # on_time | late | dropped | on_track | at_risk | planned
    items: list[Record] = field(default_factory=list)


# A commit pushed straight to the default branch: time, author, sha, message, parents.
_Direct = tuple[int, _Person, str, str, list[str]]


@dataclass(slots=True)
class _Merged:
    """What a team's work items need of one of its pull requests."""

    ref: str
    first_commit: int
    created: int
    merged: int | None
    kind: str
    title: str


class _Org:
    """The people, teams and repositories of one demo organisation."""

    def __init__(self, scale: Scale, seed: int, today: dt.date) -> None:
        self.scale = scale
        self.seed = seed
        self.end = int(dt.datetime.combine(today, dt.time(), dt.UTC).timestamp())
        self.start = self.end - scale.days * DAY
        self.rng = random.Random(f"{seed}:org")
        self.teams: list[_Team] = []
        self.people: list[_Person] = []
        self.bots = {login: self._bot(login) for login in BOTS}
        self.deployments = 0
        self.incidents = 0
        if scale.name == "small" and scale.teams == 5:
            self._build_small()
        else:
            self._build_generated()

    def _bot(self, login: str) -> _Person:
        return _Person(login, login, None, 0, "Z", 0, DAY, 0.0, is_bot=True)

    def _person(self, team: _Team, name_index: int) -> _Person:
        rng = self.rng
        first = FIRST_NAMES[name_index % len(FIRST_NAMES)]
        last = LAST_NAMES[name_index // len(FIRST_NAMES) % len(LAST_NAMES)]
        login = f"{first}-{last}".lower()
        zone = team.zone if rng.random() < 0.8 else rng.choice(ZONES)
        work_start = int((8 + rng.random() * 2.5) * HOUR)
        return _Person(
            login=login,
            name=f"{first} {last}",
            team=team.key,
            offset=zone * 60,
            suffix=_zone_suffix(zone),
            work_start=work_start,
            work_end=work_start + int((8 + rng.random()) * HOUR),
            rate=_lognormal(rng, 0, 0.45),
            off_hours=0.03 + 0.3 * rng.random() ** 3,
        )

    def _staff(self, team: _Team, count: int, names: list[int]) -> None:
        for _ in range(count):
            person = self._person(team, names.pop())
            team.members.append(person)
            self.people.append(person)

    def _repo(self, name: str, team: _Team, project: str) -> _Repo:
        rng = self.rng
        bot_roll = rng.random()
        repo = _Repo(
            key=f"{OWNER}/{name}",
            name=name,
            team=team,
            project=project,
            default_branch="main" if rng.random() < 0.85 else "master",
            weight=_lognormal(rng, 0, 0.6),
            lists_commits=rng.random() < 0.5,
            staging=team.profile.deploy != "on_merge",
            bot="dependabot[bot]" if bot_roll < 0.6 else "renovate[bot]" if bot_roll < 0.9 else None,
            sonar=rng.random() < 0.35,
        )
        team.repos.append(repo)
        return repo

    def _build_small(self) -> None:
        names = self.rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), self.scale.contributors)
        sizes = [row[6] for row in SMALL_TEAMS]
        sizes[-1] += self.scale.contributors - sum(sizes)
        by_key: dict[str, _Team] = {}
        for (key, name, parent, profile, degrades, zone, _), size in zip(SMALL_TEAMS, sizes, strict=True):
            team = _Team(key, name, parent, PROFILES[profile], degrades, zone, key[:3].upper())
            by_key[key] = team
            self.teams.append(team)
            self._staff(team, size, names)
        for name, team_key, project in SMALL_REPOSITORIES[: self.scale.repositories]:
            self._repo(name, by_key[team_key], project)

    def _build_generated(self) -> None:
        rng = self.rng
        scale = self.scale
        departments = min(len(DEPARTMENTS), max(1, scale.teams // 7))
        children = scale.teams - departments
        areas = list(AREAS)
        rng.shuffle(areas)
        roles = ["fast"] * 6 + ["slow"] * 7 + ["degrading"]
        roles = (roles + ["steady"] * children)[:children]
        rng.shuffle(roles)
        prefixes: list[str] = []

        def prefix_for(key: str) -> str:
            letters = "".join(part[0] for part in key.split("-")).upper()
            candidate, n = letters, 1
            while candidate in prefixes:
                n += 1
                candidate = f"{letters}{n}"
            prefixes.append(candidate)
            return candidate

        parents: list[_Team] = []
        for index in range(departments):
            name = DEPARTMENTS[index]
            key = name.lower()
            team = _Team(key, name, None, PROFILES["steady"], False, rng.choice(ZONES), prefix_for(key))
            parents.append(team)
            self.teams.append(team)
        for index in range(children):
            parent = parents[index % departments]
            area = areas[index % len(areas)]
            key = f"{parent.key}-{area.lower()}"
            if index >= len(areas):
                key = f"{key}-{index // len(areas) + 1}"
            role = roles[index]
            profile = PROFILES["steady" if role == "degrading" else role]
            zone = parent.zone if rng.random() < 0.6 else rng.choice(ZONES)
            team = _Team(
                key, f"{parent.name} {area}", parent.key, profile, role == "degrading", zone, prefix_for(key)
            )
            self.teams.append(team)

        weights = [0.35 if team.parent is None else 1.0 for team in self.teams]
        total = sum(weights)
        sizes = [max(2, int(scale.contributors * w / total)) for w in weights]
        for index in range(scale.contributors - sum(sizes)):
            sizes[index % len(sizes)] += 1
        names = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), scale.contributors)
        for team, size in zip(self.teams, sizes, strict=True):
            self._staff(team, size, names)

        repo_sizes = [1 if team.parent is None else 0 for team in self.teams]
        for index in range(scale.repositories - sum(repo_sizes)):
            repo_sizes[departments + index % children if children else index % departments] += 1
        projects = {
            parent.key: [f"{parent.name} {area}" for area in rng.sample(AREAS, 4)] for parent in parents
        }
        used: set[str] = set()
        for team, count in zip(self.teams, repo_sizes, strict=True):
            department = team.parent or team.key
            stem = team.key.split("-", 1)[-1]
            for n in range(count):
                name = f"{stem}-{REPO_SUFFIXES[n % len(REPO_SUFFIXES)]}"
                while name in used:
                    name = f"{name}-{n + 2}"
                used.add(name)
                self._repo(name, team, rng.choice(projects[department]))

    def records(self) -> Iterator[Record]:
        """The teams, contributors and repositories."""
        for team in self.teams:
            record: Record = {"type": "team", "key": team.key, "name": team.name}
            if team.parent:
                record["parent"] = team.parent
            yield record
        for person in self.people:
            yield {
                "type": "contributor",
                "login": person.login,
                "name": person.name,
                "email": f"{person.login}@{OWNER}.example",
                "team": person.team,
                "is_bot": False,
            }
        for bot in self.bots.values():
            yield {"type": "contributor", "login": bot.login, "name": bot.name, "is_bot": True}
        for team in self.teams:
            for repo in team.repos:
                yield {
                    "type": "repository",
                    "key": repo.key,
                    "team": team.key,
                    "project": repo.project,
                    "default_branch": repo.default_branch,
                }


class _RepoSim:
    """One repository's history, simulated in time order over an event queue."""

    START, MERGE, DEPLOY, TICK, QUALITY, DIRECT, INCIDENT, ROLLBACK, HOTFIX = range(9)

    def __init__(self, org: _Org, repo: _Repo, pr_count: int) -> None:
        self.org = org
        self.repo = repo
        self.team = repo.team
        self.profile = repo.team.profile
        self.rng = random.Random(f"{org.seed}:{repo.key}")
        self.start, self.end = org.start, org.end
        self.degrade_from = org.end - max(60, org.scale.days // 6) * DAY
        self.pr_count = pr_count
        self.prs: list[_PR] = []
        self.direct: list[_Direct] = []
        self.deployments: list[Record] = []
        self.incidents: list[Record] = []
        self.quality: list[Record] = []
        self.events: list[tuple[int, int, int, Any]] = []
        self.sequence = 0
        self.head = ""
        self.pending: dict[str, list[str]] = {"production": [], "staging": []}
        self.pending_lines = {"production": 0, "staging": 0}
        self.shipped: dict[str, str] = {}
        self.previous_good: str | None = None
        self.deploy_scheduled = False
        self.coverage = 0.45 + 0.43 * self.rng.random()
        declining = self.rng.random() < 0.2 or repo.team.degrades
        self.coverage_drift = (
            -0.003 - 0.004 * self.rng.random() if declining else self.rng.gauss(0.0004, 0.0015)
        )
        self.complexity = 2 + 5 * self.rng.random()
        self.duplication = 0.01 + 0.11 * self.rng.random()
        self.issues = 5 + 300 * self.rng.random()
        self.vulnerabilities = self.rng.randrange(0, 6)

    # -- time --------------------------------------------------------------------------------
    def mult(self, t: int) -> float:
        """How much worse the degrading team is at time ``t`` (1 for everyone else)."""
        if not self.team.degrades or t <= self.degrade_from:
            return 1.0
        return 1 + (DEGRADE_MAX - 1) * (t - self.degrade_from) / (self.end - self.degrade_from)

    def snap(self, person: _Person, t: int) -> int:
        """``t`` if ``person`` is at work then (or answers anyway), else their next working morning."""
        if person.is_bot:
            return t
        local = t + person.offset
        day, second = divmod(local, DAY)
        weekday = (day + _THURSDAY) % 7
        if weekday < 5 and person.work_start <= second < person.work_end:
            return t
        rng = self.rng
        if rng.random() < person.off_hours:
            return t
        if not (weekday < 5 and second < person.work_start):
            day += 1
        while (day + _THURSDAY) % 7 >= 5:
            day += 1
        return day * DAY + person.work_start - person.offset + int(rng.random() * 5400)

    def work_moment(self, person: _Person) -> int:
        """A random moment of ``person``'s working life inside the window."""
        rng = self.rng
        first_day = (self.start + person.offset) // DAY
        last_day = (self.end + person.offset) // DAY
        while True:
            day = rng.randrange(first_day, last_day + 1)
            if (day + _THURSDAY) % 7 >= 5 and rng.random() > 0.35:
                continue
            roll = rng.random()
            span = person.work_end - person.work_start
            if roll < 0.9:
                second = person.work_start + rng.random() * span
            elif roll < 0.97:
                second = person.work_end + rng.random() * 4 * HOUR
            else:
                second = rng.random() * DAY
            t = int(day * DAY + second) - person.offset
            if self.start <= t < self.end - HOUR:
                return t

    def wait(self, median_hours: float, sigma: float) -> int:
        return int(_lognormal(self.rng, math.log(median_hours), sigma) * HOUR)

    def push(self, t: int, kind: int, payload: Any = None) -> None:
        if t < self.end:
            self.sequence += 1
            heapq.heappush(self.events, (t, self.sequence, kind, payload))

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    # -- people ------------------------------------------------------------------------------
    def pick_author(self, cumulative: list[float]) -> _Person:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.choice(self.org.people)
        return rng.choices(self.team.members, cum_weights=cumulative)[0]

    def pick_reviewer(self, author: _Person) -> _Person:
        members = self.team.members
        if len(members) < 2:
            return self.rng.choice(self.org.people)
        while True:
            reviewer = self.rng.choice(members)
            if reviewer is not author:
                return reviewer

    # -- pull requests -----------------------------------------------------------------------
    def plan_human_pr(self, author: _Person) -> _PR | None:
        rng = self.rng
        profile = self.profile
        first = self.work_moment(author)
        m = self.mult(first)
        size = min(25_000, 1 + int(_lognormal(rng, math.log(profile.size_lines * (1 + (m - 1) / 2)), 1.1)))
        additions = int(size * (0.5 + 0.45 * rng.random()))
        commits = min(30, 1 + int(_lognormal(rng, 0.15 * math.log(size), 0.7)))
        coding = _lognormal(rng, math.log(profile.coding_hours * m), 0.9) * HOUR
        times = [first]
        for fraction in sorted(rng.random() for _ in range(commits - 1)):
            times.append(max(times[-1] + 60, self.snap(author, first + int(coding * fraction))))
        created = max(times[-1] + 120, self.snap(author, first + int(coding)))
        if created >= self.end:
            return None
        roll = rng.random()
        kind = "feature" if roll < 0.5 else "bug" if roll < 0.8 else "chore"
        noun = rng.randrange(len(NOUNS))
        verbs = FEATURE_VERBS if kind == "feature" else BUG_VERBS if kind == "bug" else CHORE_VERBS
        labels = [
            "feature" if kind == "feature" else "bug" if kind == "bug" else rng.choice(("chore", "refactor"))
        ]
        if size > 1000:
            labels.append("size/XL")
        if rng.random() < 0.03:
            labels.append("security")
        base = self.repo.default_branch
        on_default = rng.random() >= 0.04
        if not on_default:
            base = f"release/{_date(created)[:7]}"
        pr = _PR(
            author=author,
            created=created,
            kind=kind,
            title=f"{rng.choice(verbs)} {NOUNS[noun]}",
            head_branch=f"{author.login.split('-')[0]}/{kind}-{SLUGS[noun]}",
            base_branch=base,
            additions=additions,
            deletions=size - additions,
            files=max(1, int(math.sqrt(size) * (0.3 + 0.7 * rng.random()))),
            labels=labels,
            commit_times=times,
            commit_authors=[author] * len(times),
            reviews=[],
            on_default=on_default,
        )
        if rng.random() < 0.12:
            pr.draft = True
            pr.ready = self.snap(author, created + self.wait(6, 1.0))
        self.review_and_merge(pr, m, size)
        return pr

    def review_and_merge(self, pr: _PR, m: float, size: int) -> None:
        rng = self.rng
        profile = self.profile
        author = pr.author
        reviews = pr.reviews
        ready = pr.ready or pr.created
        if self.repo.sonar:
            reviews.append(
                (pr.created + 120 + int(rng.random() * 300), self.org.bots["sonarcloud[bot]"], "commented")
            )
        outcome = rng.random()
        if outcome < 0.04:
            # Merged by its author without review (small repos, urgent fixes).
            pr.merged = self.snap(author, ready + self.wait(1, 1.0))
            pr.merger = author
        else:
            reviewer = self.pick_reviewer(author)
            t = self.snap(reviewer, ready + self.wait(profile.pickup_hours * m, 1.1))
            rework = profile.rework * (1 + min(size, 2000) / 1000)
            rounds = 0
            while rounds < 3 and rng.random() < rework:
                reviews.append((t, reviewer, "changes_requested"))
                fix = self.snap(author, t + self.wait(3, 0.9))
                pr.commit_times.append(fix)
                pr.commit_authors.append(author)
                t = self.snap(reviewer, fix + self.wait(profile.pickup_hours * m / 2, 1.0))
                rounds += 1
            if rng.random() < 0.3:
                second = self.pick_reviewer(author)
                when = self.snap(second, ready + self.wait(profile.pickup_hours * m * 1.5, 1.1))
                reviews.append((when, second, "commented" if rng.random() < 0.6 else "approved"))
            if rng.random() < 0.01 and t - 600 > ready:
                reviews.append((t - 600, self.pick_reviewer(author), "dismissed"))
            reviews.append((t, reviewer, "approved"))
            pr.merged = self.snap(author, t + self.wait(profile.merge_hours * m, 1.0))
            pr.merger = author
        if outcome > 0.985:
            # Abandoned: left open, never merged (stale work).
            pr.merged = None
        elif outcome > 0.93:
            pr.closed = self.snap(author, pr.created + self.wait(48, 1.0))
            pr.merged = None
        self.settle(pr)

    def settle(self, pr: _PR) -> None:
        """Cut everything at the end of the window: what has not happened yet is open."""
        end = self.end
        if pr.merged is not None and pr.merged >= end:
            pr.merged = None
        if pr.closed is not None and pr.closed >= end:
            pr.closed = None
        if pr.ready is not None and pr.ready >= end:
            pr.ready = None
        last = pr.merged or pr.closed or end
        pr.reviews = sorted((r for r in pr.reviews if r[0] < last), key=lambda r: r[0])
        if pr.merged is not None:
            last = pr.merged - 60
        keep = [i for i, t in enumerate(pr.commit_times) if t < min(last, end)]
        pr.commit_times = sorted(pr.commit_times[i] for i in keep)
        pr.commit_authors = [pr.commit_authors[i] for i in keep]

    def plan_bot_prs(self) -> None:
        rng = self.rng
        if self.repo.bot is None:
            return
        bot = self.org.bots[self.repo.bot]
        dependabot = bot.login.startswith("dependabot")
        monday = (self.start // DAY - (self.start // DAY + _THURSDAY) % 7 + 7) * DAY
        for week in range(monday, self.end, WEEK):
            for n in range(rng.choice((0, 0, 0, 0, 1, 1, 2))):
                created = week + (5 if dependabot else 4) * HOUR + n * 90
                package = rng.choice(PACKAGES)
                old = f"{rng.randrange(1, 9)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
                new = f"{old.rsplit('.', 1)[0]}.{int(old.rsplit('.', 1)[1]) + 1}"
                size = 2 + int(_lognormal(rng, 2.5, 1.2))
                if dependabot:
                    title = f"Bump {package} from {old} to {new}"
                    head = f"dependabot/pip/{package}-{new}"
                else:
                    title = f"Update dependency {package} to v{new}"
                    head = f"renovate/{package}-{old.split('.')[0]}.x"
                pr = _PR(
                    author=bot,
                    created=created,
                    kind="dependencies",
                    title=title,
                    head_branch=head,
                    base_branch=self.repo.default_branch,
                    additions=size // 2 + 1,
                    deletions=size // 2,
                    files=1 + (size > 20),
                    labels=["dependencies"],
                    commit_times=[created - 30],
                    commit_authors=[bot],
                    reviews=[],
                )
                reviewer = self.pick_reviewer(bot)
                if rng.random() < 0.2:
                    pr.closed = created + 7 * DAY
                else:
                    approved = self.snap(reviewer, created + self.wait(self.profile.pickup_hours * 1.5, 1.2))
                    pr.reviews.append((approved, reviewer, "approved"))
                    pr.merged = self.snap(reviewer, approved + self.wait(0.3, 1.0))
                    pr.merger = reviewer
                self.settle(pr)
                self.prs.append(pr)

    def plan_hotfix(self, t: int, incident: Record) -> None:
        rng = self.rng
        author = rng.choice(self.team.members)
        reviewer = self.pick_reviewer(author)
        first = t + self.wait(0.8, 0.6)
        created = first + 300 + int(rng.random() * 900)
        approved = created + self.wait(0.3, 0.7)
        size = 2 + int(_lognormal(rng, 2.5, 0.8))
        noun = rng.randrange(len(NOUNS))
        pr = _PR(
            author=author,
            created=created,
            kind="bug",
            title=f"Hotfix: {NOUNS[noun]} ({incident['id']})",
            head_branch=f"hotfix/{incident['id'].lower()}",
            base_branch=self.repo.default_branch,
            additions=size // 2 + 1,
            deletions=size // 2,
            files=1,
            labels=["hotfix", "bug"],
            commit_times=[first],
            commit_authors=[author],
            reviews=[(approved, reviewer, "approved")],
            merged=approved + 300 + int(rng.random() * 600),
            merger=author,
            hotfix_incident=incident,
        )
        self.settle(pr)
        if pr.commit_times:
            self.prs.append(pr)
            self.push(pr.commit_times[0], self.START, pr)
            if pr.merged is not None:
                self.push(pr.merged, self.MERGE, pr)

    # -- deployments and incidents -----------------------------------------------------------
    def deploy(self, environment: str, t: int, kind: str = "regular", sha: str | None = None) -> bool:
        """Record a deployment finishing at ``t``; True when it succeeded."""
        rng = self.rng
        m = self.mult(t)
        sha = sha or self.head
        ok = kind != "regular" or rng.random() >= self.profile.deploy_failure * m * m
        self.org.deployments += 1
        record: Record = {
            "type": "deployment",
            "id": f"deploy-{self.org.deployments}",
            "repository": self.repo.key,
            "environment": environment,
            # A fifth of the runs that do not succeed are cancelled rather than failed.
            "status": "success" if ok else "cancelled" if rng.random() < 0.2 else "failure",
            "started_at": _utc(t - self.wait(0.1, 0.5)),
            "finished_at": _utc(t),
            "sha": sha,
            "kind": kind,
        }
        if self.repo.lists_commits and kind != "rollback":
            record["commits"] = list(self.pending[environment])
        self.deployments.append(record)
        if not ok:
            return False
        if kind == "rollback":
            self.shipped[environment] = sha
            return True
        lines = self.pending_lines[environment]
        self.pending[environment] = []
        self.pending_lines[environment] = 0
        if environment == "production":
            self.previous_good = self.shipped.get(environment)
            if kind == "regular":
                self.maybe_incident(t, record["id"], lines, m)
        self.shipped[environment] = sha
        return True

    def maybe_incident(self, t: int, deployment_id: str, lines: int, m: float) -> None:
        rng = self.rng
        risk = min(3.0, max(0.3, math.sqrt(lines / 400)))
        local = t + self.team.zone * 60
        if (local // DAY + _THURSDAY) % 7 == 4 and local % DAY >= 14 * HOUR:
            risk *= 1.5
        if rng.random() < min(0.6, self.profile.incident * m * m * risk):
            self.push(t + min(6 * DAY, self.wait(2, 1.2)), self.INCIDENT, deployment_id)

    def incident(self, t: int, deployment_id: str | None) -> None:
        rng = self.rng
        self.org.incidents += 1
        record: Record = {
            "type": "incident",
            "id": f"INC-{self.org.incidents}",
            "repository": self.repo.key,
            "title": rng.choice(INCIDENT_TITLES).format(name=self.repo.name),
            "severity": rng.choices(SEVERITIES, weights=SEVERITY_WEIGHTS)[0],
            "created_at": _utc(t),
        }
        if deployment_id and rng.random() < 0.35:
            record["deployment_id"] = deployment_id
        self.incidents.append(record)
        if rng.random() < 0.03:
            return  # still open
        response = rng.random() if deployment_id else 1.0
        profile = self.profile
        if response < profile.rollback and self.previous_good:
            rollback = t + self.wait(0.6, 0.6)
            self.push(rollback, self.ROLLBACK, self.previous_good)
            self.resolve(record, rollback + self.wait(0.3, 0.7))
        elif response < profile.rollback + profile.hotfix:
            self.plan_hotfix(t, record)
        else:
            self.resolve(record, t + self.wait(profile.restore_hours * self.mult(t), 1.2))

    def resolve(self, incident: Record, t: int) -> None:
        if t < self.end:
            incident["resolved_at"] = _utc(t)

    # -- the simulation ----------------------------------------------------------------------
    def schedule(self) -> None:
        """Plan the PRs and every recurring event of the window."""
        rng = self.rng
        team = self.team
        cumulative: list[float] = []
        total = 0.0
        for person in team.members:
            total += person.rate
            cumulative.append(total)
        for _ in range(self.pr_count):
            pr = self.plan_human_pr(self.pick_author(cumulative))
            if pr is not None and pr.commit_times:
                self.prs.append(pr)
        self.plan_bot_prs()
        for pr in self.prs:
            self.push(pr.commit_times[0], self.START, pr)
            if pr.merged is not None:
                self.push(pr.merged, self.MERGE, pr)
        for _ in range(self.pr_count // 30):
            author = rng.choice(team.members)
            self.push(self.work_moment(author), self.DIRECT, author)

        zone = team.zone * 60
        first_day = (self.start + zone) // DAY + 1
        deploy = self.profile.deploy
        for day in range(first_day, (self.end + zone) // DAY + 1):
            weekday = (day + _THURSDAY) % 7
            if (deploy == "daily" and weekday < 5) or (deploy == "weekly" and weekday == 2):
                self.push(day * DAY + 14 * HOUR + int(rng.random() * HOUR) - zone, self.TICK)
            if weekday == 0:
                self.push(day * DAY + 3 * HOUR - zone, self.QUALITY)
        for _ in range(int(rng.random() * 2 * self.org.scale.days / 60)):
            self.push(self.start + int(rng.random() * (self.end - self.start)), self.INCIDENT, None)

    def run(self) -> Iterator[Record]:
        """Simulate the repository and yield its records."""
        rng = self.rng
        root = self.sha()
        root_at = self.start - DAY * (30 + rng.randrange(300))
        founder = self.team.members[0]
        self.direct.append((root_at, founder, root, "Initial commit", []))
        self.head = root
        self.shipped = {"production": root, "staging": root}
        self.schedule()
        events = self.events
        while events:
            t, _, kind, payload = heapq.heappop(events)
            if kind == self.START:
                self.start_pr(payload)
            elif kind == self.MERGE:
                self.merge_pr(t, payload)
            elif kind == self.DEPLOY:
                self.deploy_scheduled = False
                if self.head != self.shipped["production"] and not self.deploy("production", t):
                    self.push(t + self.wait(0.75, 0.4), self.DEPLOY)
                    self.deploy_scheduled = True
            elif kind == self.TICK:
                self.tick(t)
            elif kind == self.QUALITY:
                self.measure(t)
            elif kind == self.DIRECT:
                self.direct_commit(t, payload, f"{rng.choice(CHORE_VERBS)} {rng.choice(NOUNS)}")
            elif kind == self.INCIDENT:
                self.incident(t, payload)
            elif kind == self.ROLLBACK:
                self.deploy("production", t, "rollback", payload)
            elif kind == self.HOTFIX:
                self.deploy("production", t, "hotfix")
                self.resolve(payload, t + self.wait(0.25, 0.6))
        yield from self.emit()

    def start_pr(self, pr: _PR) -> None:
        pr.base_sha = self.head
        pr.shas = [self.sha() for _ in pr.commit_times]

    def merge_pr(self, t: int, pr: _PR) -> None:
        pr.merge_sha = self.sha()
        if not pr.on_default:
            pr.merge_parents = [pr.base_sha or self.head, pr.shas[-1]]
            return
        pr.merge_parents = [self.head, pr.shas[-1]]
        self.head = pr.merge_sha
        lines = pr.additions + pr.deletions
        for environment in ("production", "staging"):
            self.pending[environment].extend(pr.shas)
            self.pending[environment].append(pr.merge_sha)
            self.pending_lines[environment] += lines
        if pr.hotfix_incident is not None:
            self.push(t + self.wait(0.3, 0.5), self.HOTFIX, pr.hotfix_incident)
        elif self.profile.deploy == "on_merge" and not self.deploy_scheduled:
            self.deploy_scheduled = True
            self.push(t + self.wait(0.4, 0.6), self.DEPLOY)

    def direct_commit(self, t: int, author: _Person, message: str) -> None:
        sha = self.sha()
        self.direct.append((t, author, sha, message, [self.head]))
        self.head = sha
        for environment in ("production", "staging"):
            self.pending[environment].append(sha)
            self.pending_lines[environment] += 10

    def tick(self, t: int) -> None:
        if self.head == self.shipped["production"]:
            return
        if self.profile.deploy == "weekly":
            release = f"chore(release): v1.{self.org.deployments % 97}.0"
            self.direct_commit(t, self.org.bots["github-actions[bot]"], release)
        staged = t + 600
        if self.repo.staging and self.head != self.shipped["staging"] and not self.deploy("staging", staged):
            self.push(staged + self.wait(1, 0.4), self.TICK)
            return
        later = staged + self.wait(0.7, 0.4)
        if later < self.end and not self.deploy("production", later):
            self.push(later + self.wait(0.75, 0.4), self.DEPLOY)

    def measure(self, t: int) -> None:
        rng = self.rng
        drift = self.coverage_drift * (self.mult(t) if self.team.degrades else 1.0)
        self.coverage = min(0.98, max(0.05, self.coverage + drift + rng.gauss(0, 0.004)))
        self.complexity = max(1.0, self.complexity + rng.gauss(0.005, 0.03) - drift)
        self.duplication = min(0.6, max(0.0, self.duplication + rng.gauss(0, 0.002)))
        self.issues = max(0.0, self.issues * (1 + rng.gauss(0.002, 0.03)))
        roll = rng.random()
        if roll < 0.3:
            self.vulnerabilities += 1
        elif roll < 0.65 and self.vulnerabilities:
            self.vulnerabilities -= 1
        self.quality.append(
            {
                "type": "quality",
                "repository": self.repo.key,
                "measured_at": _utc(t),
                "sha": self.head,
                "coverage": round(self.coverage, 4),
                "complexity": round(self.complexity, 2),
                "duplication": round(self.duplication, 4),
                "issues": int(self.issues),
                "vulnerabilities": self.vulnerabilities,
            }
        )

    def emit(self) -> Iterator[Record]:
        """The repository's records: commits, pull requests, reviews, deployments, incidents, quality."""
        key = self.repo.key
        self.prs.sort(key=lambda pr: (pr.created, pr.commit_times[0]))
        for number, pr in enumerate(self.prs, start=1):
            pr.number = number
        for t, author, sha, message, parents in self.direct:
            at = _iso(t, author.offset, author.suffix)
            yield {
                "type": "commit",
                "repository": key,
                "sha": sha,
                "author": author.login,
                "authored_at": at,
                "committed_at": at,
                "parents": parents,
                "additions": 1 + int(t) % 40,
                "deletions": int(t) % 13,
                "message": message,
            }
        for pr in self.prs:
            yield from self.emit_pr(key, pr)
        yield from self.deployments
        yield from self.incidents
        yield from self.quality

    def emit_pr(self, key: str, pr: _PR) -> Iterator[Record]:
        n = len(pr.shas)
        additions = pr.additions // n
        deletions = pr.deletions // n
        parent = pr.base_sha
        for index, (sha, t, author) in enumerate(
            zip(pr.shas, pr.commit_times, pr.commit_authors, strict=True)
        ):
            at = _iso(t, author.offset, author.suffix)
            yield {
                "type": "commit",
                "repository": key,
                "sha": sha,
                "author": author.login,
                "authored_at": at,
                "committed_at": at,
                "parents": [parent],
                "additions": additions + (pr.additions % n if index == 0 else 0),
                "deletions": deletions + (pr.deletions % n if index == 0 else 0),
                "message": pr.title if index == 0 else FOLLOW_UPS[(pr.number + index) % len(FOLLOW_UPS)],
            }
            parent = sha
        record: Record = {
            "type": "pull_request",
            "repository": key,
            "number": pr.number,
            "author": pr.author.login,
            "title": pr.title,
            "state": "merged" if pr.merged is not None else "closed" if pr.closed is not None else "open",
            "draft": pr.draft and pr.ready is None,
            "created_at": _utc(pr.created),
            "base_branch": pr.base_branch,
            "head_branch": pr.head_branch,
            "additions": pr.additions,
            "deletions": pr.deletions,
            "changed_files": pr.files,
            "commits": pr.shas,
            "labels": pr.labels,
        }
        if pr.ready is not None:
            record["ready_at"] = _utc(pr.ready)
        if pr.merged is not None and pr.merger is not None:
            merged_at = _utc(pr.merged)
            record["merged_at"] = merged_at
            record["closed_at"] = merged_at
            record["merge_commit_sha"] = pr.merge_sha
            merger = pr.merger
            at = _iso(pr.merged, merger.offset, merger.suffix)
            yield {
                "type": "commit",
                "repository": key,
                "sha": pr.merge_sha,
                "author": merger.login,
                "authored_at": at,
                "committed_at": at,
                "parents": pr.merge_parents,
                "additions": 0,
                "deletions": 0,
                "message": f"Merge pull request #{pr.number} from {OWNER}/{pr.head_branch}",
            }
        elif pr.closed is not None:
            record["closed_at"] = _utc(pr.closed)
        yield record
        for index, (t, reviewer, state) in enumerate(pr.reviews, start=1):
            yield {
                "type": "review",
                "repository": key,
                "pull_request": pr.number,
                "id": f"{pr.number}-{index}",
                "reviewer": reviewer.login,
                "state": state,
                "submitted_at": _utc(t),
            }

    def summaries(self) -> list[_Merged]:
        """The repository's human PRs, for the team's work items."""
        return [
            _Merged(
                ref=f"{self.repo.key}#{pr.number}",
                first_commit=pr.commit_times[0],
                created=pr.created,
                merged=pr.merged,
                kind=pr.kind,
                title=pr.title,
            )
            for pr in self.prs
            # Abandoned PRs (open for over a month) belong to no work item.
            if not pr.author.is_bot
            and (pr.merged is not None or (pr.closed is None and pr.created > self.end - 30 * DAY))
        ]


def _team_plan(org: _Org, team: _Team, prs: list[_Merged]) -> Iterator[Record]:
    """The team's objectives and work items, linked to its merged and open PRs."""
    rng = random.Random(f"{org.seed}:{team.key}:plan")
    start, end = org.start, org.end
    objectives: list[_Objective] = []
    t = start - int(rng.random() * 30) * DAY
    while not objectives or objectives[-1].outcome != "planned":
        length = (6 + rng.randrange(8)) * WEEK
        target = t + length
        if target < end:
            roll = rng.random()
            outcome = "on_time" if roll < 0.6 else "late" if roll < 0.93 else "dropped"
        elif t < end:
            outcome = "on_track" if rng.random() < 0.55 else "at_risk"
        else:
            outcome = "planned"
        cutoff = {"on_time": target - 2 * WEEK, "late": target + 3 * WEEK, "dropped": target - 4 * WEEK}
        objectives.append(
            _Objective(
                key=f"{team.prefix}-O{len(objectives) + 1}",
                title=f"{rng.choice(FEATURE_VERBS)} {rng.choice(NOUNS)} for {team.name}",
                start=t,
                target=target,
                cutoff=cutoff.get(outcome, end),
                outcome=outcome,
            )
        )
        t += int(length * (0.5 + 0.5 * rng.random()))

    items: list[Record] = []
    prs.sort(key=lambda pr: pr.created)
    index = 0
    while index < len(prs):
        if rng.random() < 0.25:
            index += 1  # unlinked PR: alignment coverage is below 100%
            continue
        group = prs[index : index + rng.choice((1, 1, 1, 2, 2, 3))]
        index += len(group)
        first = group[0]
        started = first.first_commit - int(rng.random() * 4 * HOUR)
        item: Record = {
            "type": "work_item",
            "key": f"{team.prefix}-{len(items) + 1}",
            "title": first.title,
            "kind": first.kind if first.kind in ("feature", "bug") else "chore",
            "team": team.key,
            "created_at": started - int(_lognormal(rng, math.log(3), 1.0) * DAY),
            "started_at": started,
            "story_points": rng.choices(STORY_POINTS, weights=STORY_POINT_WEIGHTS)[0],
            "pull_requests": [pr.ref for pr in group],
        }
        merged = [pr.merged for pr in group if pr.merged is not None]
        if len(merged) == len(group) and (done := max(merged) + int(rng.random() * 3 * HOUR)) < end:
            item["status"], item["done_at"] = "done", done
        else:
            item["status"] = "in_progress"
        candidates = [o for o in objectives if o.start <= started <= o.cutoff]
        overdue = [o for o in candidates if o.outcome == "late" and started > o.target]
        if overdue or (candidates and rng.random() < 0.65):
            # Work started after a late objective's target is what makes it late.
            objective = rng.choice(overdue or candidates)
            item["objective"] = objective.key
            objective.items.append(item)
        items.append(item)

    recent = [i for i in items if i["status"] == "done" and i["done_at"] >= end - 12 * WEEK]
    throughput = len(recent) / 12
    for objective in objectives:
        remaining = 0
        if objective.outcome in ("on_track", "at_risk", "planned"):
            # At risk: several times what the team's recent pace finishes by the target date.
            weeks = max(1.0, (objective.target - end) / WEEK)
            at_risk = objective.outcome == "at_risk"
            remaining = max(1, int(throughput * weeks * (1.25 if at_risk else 0.125))) + (4 if at_risk else 0)
        opened = max(objective.start, start)
        for _ in range(remaining):
            created = opened + int(rng.random() * max(DAY, end - opened))
            item = {
                "type": "work_item",
                "key": f"{team.prefix}-{len(items) + 1}",
                "title": f"{rng.choice(FEATURE_VERBS)} {rng.choice(NOUNS)}",
                "kind": rng.choice(("feature", "feature", "bug", "chore")),
                "team": team.key,
                "created_at": min(created, end - HOUR),
                "story_points": rng.choices(STORY_POINTS, weights=STORY_POINT_WEIGHTS)[0],
                "status": "todo",
                "objective": objective.key,
            }
            objective.items.append(item)
            items.append(item)

    for objective in objectives:
        if objective.outcome == "planned":
            status = "planned"
        elif objective.outcome == "dropped" or not objective.items:
            status = "dropped"
        elif all(i["status"] == "done" for i in objective.items):
            status = "done"
        else:
            status = "in_progress"
        yield {
            "type": "objective",
            "key": objective.key,
            "title": objective.title,
            "team": team.key,
            "start_date": _date(objective.start),
            "target_date": _date(objective.target),
            "status": status,
        }
    for item in items:
        # The spec calls feature/bug/chore ``type``, which the record type already holds; the
        # loader reads it from ``kind``.
        record = dict(item)
        for name in ("created_at", "started_at", "done_at"):
            if name in record:
                record[name] = _utc(record[name])
        yield record


def generate(scale: ScaleName | Scale, seed: int, today: dt.date) -> Iterator[Record]:
    """Yield the demo organisation's records in the ingest format, lazily and deterministically."""
    size = SCALES[scale] if isinstance(scale, str) else scale
    org = _Org(size, seed, today)
    yield from org.records()
    workdays = size.days * 5 / 7
    for team in org.teams:
        if not team.repos:
            continue
        team_prs = (
            sum(p.rate for p in team.members) * size.prs_per_person_day * team.profile.activity * workdays
        )
        weights = sum(repo.weight for repo in team.repos)
        summaries: list[_Merged] = []
        for repo in team.repos:
            sim = _RepoSim(org, repo, round(team_prs * repo.weight / weights))
            yield from sim.run()
            summaries.extend(sim.summaries())
        yield from _team_plan(org, team, summaries)


def team_profiles(scale: ScaleName | Scale, seed: int, today: dt.date) -> dict[str, str]:
    """Each team's profile (``fast``, ``steady``, ``slow`` or ``degrading``), without generating activity."""
    size = SCALES[scale] if isinstance(scale, str) else scale
    org = _Org(size, seed, today)
    return {team.key: "degrading" if team.degrades else team.profile.name for team in org.teams}
