"""Configuration: every bad variable reported at once, one line each, exit 2, no secrets."""

from __future__ import annotations

import os

import pytest

from inspector.config import config
from inspector.errors import ConfigError

from .helpers import run_cli


@pytest.fixture
def clean_env(monkeypatch):
    """The environment, free of INSPECTOR_* variables (conftest clears them for every test)."""
    assert not any(key.startswith("INSPECTOR_") for key in os.environ)
    return monkeypatch


def test_defaults_take_the_jira_account_from_the_root_owner(clean_env, tmp_path):
    os.chown(tmp_path, 2001, 2002)
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://inspector@db.example/jira")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    cfg = config.from_env()
    assert cfg.identity == config.Identity(2001, frozenset({2002}))
    assert cfg.batch_size == 1000 and cfg.db_pool_size == 2 and cfg.checkers == (os.cpu_count() or 1)
    assert cfg.jira_url == "http://jira.invalid"
    assert cfg.db_target == "inspector@db.example:5432/jira"


def test_explicit_identity_and_trailing_slash(clean_env, tmp_path):
    clean_env.setenv("INSPECTOR_DB_DSN", "host=db dbname=jira user=x password=s3cret")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    clean_env.setenv("INSPECTOR_JIRA_URL", "https://jira.example.com/")
    clean_env.setenv("INSPECTOR_JIRA_UID", "7")
    clean_env.setenv("INSPECTOR_JIRA_GID", "8")
    clean_env.setenv("INSPECTOR_JIRA_EXTRA_GIDS", "9, 10")
    cfg = config.from_env()
    assert cfg.identity == config.Identity(7, frozenset({8, 9, 10}))
    assert cfg.jira_url == "https://jira.example.com"
    assert "s3cret" not in repr(cfg) and "s3cret" not in cfg.db_target


def test_every_bad_variable_is_reported_at_once(clean_env, tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    clean_env.setenv("INSPECTOR_DB_DSN", "mssql://root:hunter2@db/jira")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(afile))
    clean_env.setenv("INSPECTOR_BATCH_SIZE", "-5")
    clean_env.setenv("INSPECTOR_CHECKERS", "many")
    clean_env.setenv("INSPECTOR_JIRA_URL", "jira.example.com")
    clean_env.setenv("INSPECTOR_JIRA_EXTRA_GIDS", "1,x")
    clean_env.setenv("INSPECTOR_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    lines = str(caught.value).splitlines()
    named = {line.split(":", 1)[0] for line in lines}
    assert named == {
        "INSPECTOR_DB_DSN", "INSPECTOR_ATTACHMENTS_ROOT", "INSPECTOR_BATCH_SIZE", "INSPECTOR_CHECKERS",
        "INSPECTOR_JIRA_URL", "INSPECTOR_JIRA_EXTRA_GIDS", "INSPECTOR_LOG_LEVEL",
    }  # fmt: skip
    assert "hunter2" not in str(caught.value)
    assert any("unknown scheme 'mssql' (expected postgresql://, mysql:// or mariadb://)" in line for line in lines)
    assert any("is not a folder" in line for line in lines)
    assert any("must be at least 1, got -5" in line for line in lines)


def test_missing_required_and_missing_root(clean_env, tmp_path):
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    text = str(caught.value)
    assert "INSPECTOR_DB_DSN: is required" in text
    assert "INSPECTOR_ATTACHMENTS_ROOT: cannot access" in text and "No such file or directory" in text


@pytest.mark.parametrize("dsn", ["", "   ", "host=db dbname", "postgresql://u:p@[bad/db"])
def test_unusable_dsns(dsn):
    assert config.check_dsn(dsn) is not None


def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTOR_")}
    env.update(INSPECTOR_DB_DSN="postgresql://u:topsecret@h/db", INSPECTOR_BATCH_SIZE="0")
    result = run_cli([], env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "inspector: error: INSPECTOR_ATTACHMENTS_ROOT: is required (Jira's data/attachments folder, or s3://BUCKET/PREFIX)",
        "inspector: error: INSPECTOR_BATCH_SIZE: must be at least 1, got 0",
    ]
    assert "topsecret" not in result.stderr + result.stdout
    assert not (tmp_path / "inspector-state.sqlite").exists()


def test_cli_usage_error_exits_2():
    result = run_cli(["report", "--format", "xml"], dict(os.environ))
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_help_documents_every_variable():
    result = run_cli(["--help"], dict(os.environ))
    assert result.returncode == 0
    for name, _, _ in config.VARIABLES:
        assert f"INSPECTOR_{name}" in result.stdout
    assert "exit codes" in result.stdout


def test_readme_documents_every_variable():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name, _, _ in config.VARIABLES:
        assert f"`INSPECTOR_{name}`" in readme, name


def test_log_and_metrics_files_need_an_existing_folder(clean_env, tmp_path):
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    clean_env.setenv("INSPECTOR_LOG_FILE", str(tmp_path / "no/such/inspector.log"))
    clean_env.setenv("INSPECTOR_METRICS_FILE", str(tmp_path / "metrics.prom"))
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    assert str(caught.value).startswith("INSPECTOR_LOG_FILE: folder of")
    clean_env.delenv("INSPECTOR_LOG_FILE")
    assert config.from_env().metrics_file == tmp_path / "metrics.prom"


def test_secrets_come_from_files_and_never_show(clean_env, tmp_path):
    dsn_file, pw_file, hook_file = tmp_path / "dsn", tmp_path / "pw", tmp_path / "hook"
    dsn_file.write_text("postgresql://inspector@db.example:6432/jira\n")
    pw_file.write_text("s3cr3t-pw\n")
    hook_file.write_text("https://hooks.example.com/T0/abc\n")
    clean_env.setenv("INSPECTOR_DB_DSN_FILE", str(dsn_file))
    clean_env.setenv("INSPECTOR_DB_PASSWORD_FILE", str(pw_file))
    clean_env.setenv("INSPECTOR_WEBHOOK_URL_FILE", str(hook_file))
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    cfg = config.from_env()
    import psycopg.conninfo

    parts = psycopg.conninfo.conninfo_to_dict(cfg.db_dsn)
    assert parts["password"] == "s3cr3t-pw" and parts["host"] == "db.example" and parts["port"] == "6432"
    assert cfg.webhook_url == "https://hooks.example.com/T0/abc"
    assert cfg.db_target == "inspector@db.example:6432/jira"
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in cfg.db_target


def test_secret_files_that_clash_or_cannot_be_read(clean_env, tmp_path):
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    clean_env.setenv("INSPECTOR_DB_DSN_FILE", str(tmp_path / "dsn"))
    clean_env.setenv("INSPECTOR_DB_PASSWORD_FILE", str(tmp_path / "missing"))
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    lines = str(caught.value).splitlines()
    assert lines == [
        "INSPECTOR_DB_DSN_FILE: set either INSPECTOR_DB_DSN or INSPECTOR_DB_DSN_FILE, not both",
        f"INSPECTOR_DB_PASSWORD_FILE: cannot read '{tmp_path / 'missing'}': No such file or directory",
    ]


def test_rate_and_stat_timeout_are_checked(clean_env, tmp_path):
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    clean_env.setenv("INSPECTOR_MAX_ROWS_PER_SECOND", "-1")
    clean_env.setenv("INSPECTOR_STAT_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    named = {line.split(":", 1)[0] for line in str(caught.value).splitlines()}
    assert named == {"INSPECTOR_MAX_ROWS_PER_SECOND", "INSPECTOR_STAT_TIMEOUT"}
    clean_env.setenv("INSPECTOR_MAX_ROWS_PER_SECOND", "250")
    clean_env.setenv("INSPECTOR_STAT_TIMEOUT", "2.5")
    cfg = config.from_env()
    assert cfg.max_rows_per_second == 250 and cfg.stat_timeout == 2.5


def test_one_table_is_the_source_of_every_default(clean_env, tmp_path):
    """config.SETTINGS alone says each default: the Config built from an environment that sets
    nothing optional equals config.defaults() but for what that environment did set."""
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(tmp_path))
    cfg = config.from_env()
    plain = config.defaults(db_dsn=cfg.db_dsn, attachments_root=cfg.attachments_root, identity=cfg.identity,
                            identity_guessed=True)  # fmt: skip
    assert cfg == plain and cfg.identity_guessed  # (the account is the root's owner: nothing said otherwise)
    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names)) and all(s.section in config.SECTIONS for s in config.SETTINGS)
    assert {"source: database", "storage: posix"} <= set(config.SECTIONS)


def test_help_groups_the_variables_by_section():
    out = run_cli(["--help"], {}).stdout
    sections = [line.strip() for line in out.splitlines() if line.strip() in config.SECTIONS]
    assert sections == list(config.SECTIONS)
    after = out.split(" source: database\n", 1)[1]
    assert after.splitlines()[0].split()[0] == "INSPECTOR_DB_DSN"


def test_a_root_of_an_unknown_kind_is_named(clean_env):
    clean_env.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    clean_env.setenv("INSPECTOR_ATTACHMENTS_ROOT", "gs://bucket/attachments")
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    assert str(caught.value) == (
        "INSPECTOR_ATTACHMENTS_ROOT: 'gs://' storage is not supported (supported: a folder, s3://)"
    )
