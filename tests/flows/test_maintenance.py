"""`pwreset maintenance on|off|status` against a running backend (apr checklist 109)."""

from __future__ import annotations

from pwreset.cli import main


def _maintenance(stack, *args):
    return main(["maintenance", *args, "-c", str(stack.instance / "pwreset.toml")])


def test_maintenance_is_set_and_cleared_by_command(flows, user, capsys):
    """apr checklist 109: during maintenance the API returns {}; after it, normal service"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    path = f"/pwreset/api/v1/enrollments/{stack.domain}/{user}"
    assert stack.relay.get(path).json() == {"isEnrolled": True}

    assert _maintenance(stack, "on", "--message", "directory  upgrade\nuntil 18:00") == 0
    reply = stack.relay.get(path)
    assert (reply.status_code, reply.json()) == (200, {})
    assert reply.headers["cache-control"] == "no-store"  # nobody keeps the silence
    capsys.readouterr()
    assert _maintenance(stack, "status") == 0
    assert "maintenance on since" in (out := capsys.readouterr().out)
    assert out.rstrip().endswith(": directory upgrade until 18:00")
    assert _maintenance(stack, "on") == 0  # again: still on, no error

    assert _maintenance(stack, "off") == 0
    assert stack.relay.get(path).json() == {"isEnrolled": True}
    assert _maintenance(stack, "off") == 0  # already off: no error
    capsys.readouterr()
    assert _maintenance(stack, "status") == 0
    assert capsys.readouterr().out == "maintenance off\n"
    assert not list(stack.data_dir.glob(".MAINTENANCE*"))  # no temp file left behind


def test_maintenance_refuses_a_folder_that_is_not_an_instance(tmp_path, capsys):
    """A wrong -c says so instead of writing a marker no server reads."""
    assert main(["maintenance", "on", "-c", str(tmp_path / "pwreset.toml")]) == 2
    assert "pwreset.toml" in capsys.readouterr().err
    config = tmp_path / "pwreset.toml"
    config.write_text('[server]\ndata_dir = "nowhere"\n')
    assert main(["maintenance", "on", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"no data folder at {tmp_path / 'nowhere'}" in err
    assert not (tmp_path / "nowhere").exists()
