"""``pulse import FILE... | -``: exit codes, what it prints, all-or-nothing across files."""

from __future__ import annotations

import gzip
import io

from pulse.cli import main
from pulse.ingest.cli import import_files
from tests.ingest.helpers import commit, count, ndjson, version

GOOD = "\n".join(ndjson({"type": "team", "key": "core", "name": "Core"}, commit("a1"), commit("a2"))) + "\n"
BAD = '{"type": "commit", "repository": "acme/app", "sha": "b1"}\nnot json\n'


def run(paths: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = import_files(paths, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_good_file_exits_0_and_prints_counts_by_type_and_the_rate(tmp_path):
    path = tmp_path / "org.ndjson"
    path.write_text(GOOD)

    code, out, err = run([str(path)])

    assert code == 0
    assert err == ""
    assert out.startswith("imported 3 records in ")
    assert "records/s)" in out
    assert "commit 2, team 1" in out
    assert "data version 1" in out
    assert count("commits") == 2


def test_importing_the_same_file_again_says_nothing_changed(tmp_path):
    path = tmp_path / "org.ndjson"
    path.write_text(GOOD)
    run([str(path)])

    code, out, _ = run([str(path)])

    assert code == 0
    assert "nothing changed (data version unchanged)" in out
    assert version() == 1


def test_bad_lines_are_all_printed_exit_1_and_nothing_is_written(tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_text(GOOD + BAD)

    code, out, err = run([str(path)])

    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == 'line 4: commit: missing required field "authored_at"'
    assert lines[1].startswith("line 5: not valid JSON (")
    assert lines[2:] == ["2 bad line(s): nothing was imported."]
    assert count("teams") == 0
    assert version() == 0


def test_several_files_are_one_transaction_and_errors_name_the_file(tmp_path):
    good, bad = tmp_path / "good.ndjson", tmp_path / "bad.ndjson.gz"
    good.write_text(GOOD)
    bad.write_bytes(gzip.compress(BAD.encode()))

    code, _, err = run([str(good), str(bad)])

    assert code == 1
    assert err.splitlines()[0] == f'{bad}: line 1: commit: missing required field "authored_at"'
    assert count("commits") == 0


def test_dash_reads_stdin():
    code, out, _ = run(["-"], stdin=GOOD.encode())

    assert code == 0
    assert "imported 3 records" in out
    assert count("teams") == 1


def test_a_missing_file_exits_2_before_touching_the_database(tmp_path):
    code, _, err = run([str(tmp_path / "nope.ndjson")])

    assert code == 2
    assert "no such file" in err


def test_the_pulse_command_wires_import(tmp_path, capsys):
    path = tmp_path / "org.ndjson"
    path.write_text(GOOD)

    assert main(["import", str(path)]) == 0
    assert "imported 3 records" in capsys.readouterr().out
