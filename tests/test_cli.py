"""The command line, run as a user runs it (typer's runner, real database files)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rpma import __version__
from rpma.cli import app
from tests.conftest import LiveServer

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"rpma {__version__}"


def test_migrate_creates_the_database(cli_env: Path) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "revision 0010" in result.output
    assert (cli_env / "rpma.db").exists()


def test_create_admin_prompts_and_validates(cli_env: Path) -> None:
    ok = runner.invoke(
        app,
        ["create-admin"],
        input="Boss@Shop.Example\nAnn\nLee\nSecurePass123!\nSecurePass123!\n",
    )
    assert ok.exit_code == 0, ok.output
    assert "boss@shop.example" in ok.output
    again = runner.invoke(
        app,
        [
            "create-admin",
            "--email",
            "boss@shop.example",
            "--first-name",
            "Ann",
            "--last-name",
            "Lee",
            "--password",
            "SecurePass123!",
        ],
    )
    assert again.exit_code == 1
    assert "VALIDATION_EMAIL_TAKEN" in again.output
    weak = runner.invoke(
        app,
        [
            "create-admin",
            "--email",
            "two@shop.example",
            "--first-name",
            "Ann",
            "--last-name",
            "Lee",
            "--password",
            "weak",
        ],
    )
    assert weak.exit_code == 1
    assert "VALIDATION_PASSWORD_WEAK" in weak.output


def test_invoke_calls_a_running_server(server: LiveServer) -> None:
    result = runner.invoke(app, ["invoke", "health_check", "{}", "--url", server.url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "healthy"
    denied = runner.invoke(
        app, ["invoke", "get_database_stats", "--url", server.url, "--token", "garbage"]
    )
    assert denied.exit_code == 1
    assert "AUTH_SESSION_INVALID" in denied.output
    bad = runner.invoke(app, ["invoke", "health_check", "[1", "--url", server.url])
    assert bad.exit_code == 2


def test_demo_fills_a_workshop_and_keeps_numbers_unique(cli_env: Path) -> None:
    from sqlalchemy import create_engine, text

    # Interventions have their own test (below): here only the bulk rows are counted.
    first = runner.invoke(
        app,
        ["demo", "--technicians", "3", "--clients", "20", "--tasks", "150", "--interventions", "0"],
    )
    assert first.exit_code == 0, first.output
    assert "Demo workshop ready: 3 technicians, 20 clients, 150 tasks" in first.output
    again = runner.invoke(app, ["demo", "--tasks", "10"])
    assert again.exit_code == 1
    assert "already has clients" in again.output
    forced = runner.invoke(
        app, ["demo", "--force", "--seed", "42", "--tasks", "150", "--interventions", "0"]
    )
    assert forced.exit_code == 0, forced.output
    engine = create_engine(f"sqlite:///{cli_env / 'rpma.db'}")
    with engine.connect() as conn:
        tasks = conn.execute(text("SELECT count(*), count(DISTINCT task_number) FROM tasks")).one()
        assert tuple(tasks) == (300, 300)
        counters = conn.execute(text("SELECT sum(last_number) FROM task_number_counters"))
        assert counters.scalar_one() == 300
        admins = conn.execute(text("SELECT count(*) FROM users WHERE role = 'admin'"))
        assert admins.scalar_one() == 1
        history = conn.execute(text("SELECT count(*) FROM task_history")).scalar_one()
        assert history == 300
    engine.dispose()


def test_demo_works_interventions_in_every_state_with_photos(cli_env: Path) -> None:
    from sqlalchemy import create_engine, text

    args = ["--technicians", "2", "--clients", "10", "--tasks", "60", "--interventions", "8"]
    result = runner.invoke(app, ["demo", *args])
    assert result.exit_code == 0, result.output
    assert "8 interventions (" in result.output
    engine = create_engine(f"sqlite:///{cli_env / 'rpma.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i.id, i.status, t.status, i.quality_score, i.customer_satisfaction, "
                "i.customer_signature, i.technician_id = t.technician_id "
                "FROM interventions i JOIN tasks t ON t.id = i.task_id"
            )
        ).all()
        assert len(rows) == 8
        statuses = {row[1] for row in rows}
        assert statuses == {"completed", "in_progress", "paused", "cancelled"}
        # Each task follows its intervention (a cancelled one puts the task on hold).
        task_for = {
            "completed": "completed",
            "in_progress": "in_progress",
            "paused": "paused",
            "cancelled": "on_hold",
        }
        for _id, status, task_status, score, satisfaction, signature, own in rows:
            assert task_status == task_for[status]
            assert own
            if status == "completed":
                assert score is not None
                assert 0 <= score <= 100
                assert satisfaction is not None
                assert signature
        open_steps = conn.execute(
            text(
                "SELECT count(*) FROM intervention_steps s JOIN interventions i "
                "ON i.id = s.intervention_id WHERE i.status = 'completed' "
                "AND s.status NOT IN ('completed', 'skipped')"
            )
        ).scalar_one()
        assert open_steps == 0
        photos = conn.execute(
            text("SELECT storage_key, thumbnail_key, mime_type, captured_at FROM photos")
        ).all()
        assert photos
        root = cli_env / "photos"
        for key, thumbnail, mime_type, captured_at in photos:
            assert (root / key).is_file()
            assert (root / thumbnail).is_file()
            assert mime_type == "image/jpeg"
            assert captured_at is not None
        counts = conn.execute(
            text(
                "SELECT s.photo_count, (SELECT count(*) FROM photos p "
                "WHERE p.intervention_id = s.intervention_id "
                "AND p.step_number = s.step_number) FROM intervention_steps s"
            )
        ).all()
        assert counts
        assert all(stored == counted for stored, counted in counts)
        assert sum(stored for stored, _ in counts) == len(photos)
        # Every completed step had at least its required photos.
        short = conn.execute(
            text(
                "SELECT count(*) FROM intervention_steps "
                "WHERE status = 'completed' AND photo_count < min_photos_required"
            )
        ).scalar_one()
        assert short == 0
    engine.dispose()
