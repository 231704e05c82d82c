"""Which commits a deployment ships (ingest-format rules 1-3), resolved at ingest and stored.

The commit graph used by most tests (arrows point to parents)::

    c1 <- c2 <----- m1 <- c3        m1 is a merge commit: parents [c2, f1]
      ^            /
       \\-- f1 <---
"""

from __future__ import annotations

import gc

from pulse.ingest.shipped import ship
from tests.ingest.helpers import commit, count, deployment, first_deployments, load, rows, shipped

GRAPH = [
    commit("c1", 1, parents=[]),
    commit("c2", 2, parents=["c1"]),
    commit("f1", 2, parents=["c1"]),
    commit("m1", 3, parents=["c2", "f1"]),
    commit("c3", 4, parents=["m1"]),
]


def test_rule_2_ships_what_is_reachable_from_sha_and_not_shipped_before_through_a_merge():
    load(*GRAPH, deployment("d1", 5, sha="c2"), deployment("d2", 6, sha="c3"))

    # d1: everything reachable from c2. d2: reachable from c3 (both parents of the merge m1)
    # minus what d1 shipped, i.e. `git log c2..c3`.
    assert shipped() == {"d1": {"c1", "c2"}, "d2": {"f1", "m1", "c3"}}
    assert first_deployments() == {"c1": "d1", "c2": "d1", "f1": "d2", "m1": "d2", "c3": "d2"}


def test_rule_1_listed_commits_are_shipped_as_listed_and_unknown_ones_become_placeholders():
    load(*GRAPH, deployment("d1", 5, sha="c3", commits=["c2", "x9"]))

    # The list wins over the graph walk from sha; x9 was never described.
    assert shipped() == {"d1": {"c2", "x9"}}
    assert rows("SELECT authored_at FROM commits WHERE sha = 'x9'") == [(None,)]


def test_rule_3_without_a_known_graph_only_sha_ships():
    # c7 has no parents field (graph unknown), z1 is not described at all (a placeholder).
    load(commit("c7", 1), deployment("d1", 5, sha="c7"), deployment("d2", 6, sha="z1"))

    assert shipped() == {"d1": {"c7"}, "d2": {"z1"}}
    # The placeholder counts as shipped, with no lead time (no authored_at).
    assert first_deployments() == {"c7": "d1", "z1": "d2"}
    assert rows("SELECT authored_at FROM commits WHERE sha = 'z1'") == [(None,)]


def test_shas_made_of_the_characters_a_sha_may_hold_walk_like_any_other():
    # The graph is read back as text (one row per repository, fields joined by separators):
    # "-", "_" and "." are valid shas and must not be taken for a separator or for NULL.
    load(
        commit("-", 1, parents=[]),
        commit("a.b_c", 2, parents=["-"]),
        commit("c3", 3, parents=["a.b_c"]),
        deployment("d1", 5, sha="c3"),
    )

    assert shipped() == {"d1": {"-", "a.b_c", "c3"}}
    assert first_deployments() == {"-": "d1", "a.b_c": "d1", "c3": "d1"}


def test_an_empty_commits_list_falls_back_to_the_graph():
    load(*GRAPH, deployment("d1", 5, sha="c2", commits=[]))

    assert shipped() == {"d1": {"c1", "c2"}}


def test_a_commit_shipped_twice_keeps_its_first_deployment():
    load(*GRAPH, deployment("d1", 5, sha="c3"), deployment("d2", 6, commits=["c3", "c2"]))

    assert shipped() == {"d1": {"c1", "c2", "f1", "m1", "c3"}, "d2": {"c3", "c2"}}
    # The earliest successful deployment shipping a commit is its first one.
    assert first_deployments()["c3"] == "d1"
    assert first_deployments()["c2"] == "d1"


def test_a_late_arriving_earlier_deployment_changes_what_the_later_one_ships():
    load(*GRAPH, deployment("d2", 6, sha="c3"))
    assert shipped() == {"d2": {"c1", "c2", "f1", "m1", "c3"}}

    load(deployment("d1", 5, sha="c2"))

    # d1 finished first, so it shipped c1 and c2; d2 only what came after.
    assert shipped() == {"d1": {"c1", "c2"}, "d2": {"f1", "m1", "c3"}}
    assert first_deployments() == {"c1": "d1", "c2": "d1", "f1": "d2", "m1": "d2", "c3": "d2"}


def test_commits_arriving_after_the_deployment_turn_rule_3_into_rule_2():
    load(deployment("d1", 5, sha="c3"))
    assert shipped() == {"d1": {"c3"}}

    load(*GRAPH)

    assert shipped() == {"d1": {"c1", "c2", "f1", "m1", "c3"}}


def test_failed_deployments_ship_but_do_not_count_as_earlier_or_first():
    load(*GRAPH, deployment("d0", 4, sha="c2", status="failure"), deployment("d1", 5, sha="c2"))

    # A failure's set is recorded; the next successful deployment still ships the same commits.
    assert shipped() == {"d0": {"c1", "c2"}, "d1": {"c1", "c2"}}
    assert first_deployments() == {"c1": "d1", "c2": "d1"}


def test_redeploying_an_already_shipped_sha_ships_nothing_new():
    load(*GRAPH, deployment("d1", 5, sha="c3"), deployment("rollback", 6, sha="c2"))

    # `git log <c2> --not <everything shipped>` is empty.
    assert shipped() == {"d1": {"c1", "c2", "f1", "m1", "c3"}}
    assert first_deployments()["c2"] == "d1"


def test_environments_are_resolved_separately():
    load(
        *GRAPH,
        deployment("s1", 4, sha="c3", environment="staging"),
        deployment("p1", 5, sha="c2"),
        deployment("p2", 6, sha="c3"),
    )

    assert shipped("staging") == {"s1": {"c1", "c2", "f1", "m1", "c3"}}
    assert shipped("production") == {"p1": {"c1", "c2"}, "p2": {"f1", "m1", "c3"}}
    assert first_deployments("staging")["c2"] == "s1"
    assert first_deployments("production")["c2"] == "p1"


def test_a_deployment_moving_to_another_environment_is_resolved_in_both():
    load(*GRAPH, deployment("d1", 5, sha="c2"), deployment("d2", 6, sha="c3"))

    load(deployment("d1", 5, sha="c2", environment="staging"))

    assert shipped("production") == {"d2": {"c1", "c2", "f1", "m1", "c3"}}
    assert shipped("staging") == {"d1": {"c1", "c2"}}
    assert first_deployments("production")["c1"] == "d2"


def test_a_later_commit_list_replaces_what_was_shipped():
    load(*GRAPH, deployment("d1", 5, commits=["c1", "c2"]))

    load(deployment("d1", 5, commits=["c2"]))

    assert shipped() == {"d1": {"c2"}}
    assert first_deployments() == {"c2": "d1"}
    assert count("deployment_commits") == 1


def test_repositories_do_not_share_commits():
    load(
        commit("c1", 1, parents=[], repo="acme/one"),
        commit("c1", 1, parents=[], repo="acme/two"),
        deployment("d1", 5, sha="c1", repo="acme/one"),
    )

    assert rows(
        "SELECT r.key FROM deployment_commits dc JOIN commits c ON c.id = dc.commit_id "
        "JOIN repositories r ON r.id = c.repository_id"
    ) == [("acme/one",)]


def test_ship_walks_each_commit_once_per_environment():
    # A linear history of 5 commits deployed one by one: each walk stops at the previous sha.
    graph = {f"c{i}": (i, [f"c{i - 1}"] if i > 1 else []) for i in range(1, 6)}
    deployments = [(100 + i, True, f"c{i}", None, "") for i in range(1, 6)]

    per_deployment, first = ship(graph, deployments)  # type: ignore[arg-type]

    assert per_deployment == [(101, [1]), (102, [2]), (103, [3]), (104, [4]), (105, [5])]
    assert first == {1: 101, 2: 102, 3: 103, 4: 104, 5: 105}


def test_the_resolution_leaves_garbage_collection_as_it_found_it():
    # The walk pauses the cyclic collector; an import must not leave a process without it.
    gc.enable()
    load(commit("c1", 1, parents=[]), deployment("d1", 2, sha="c1"))
    assert gc.isenabled()

    gc.disable()
    try:
        load(commit("c2", 3, parents=["c1"]), deployment("d2", 4, sha="c2"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert shipped() == {"d1": {"c1"}, "d2": {"c2"}}
