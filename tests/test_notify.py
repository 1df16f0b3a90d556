"""Notifications against a local HTTP server that speaks Telegram's Bot API (and a webhook):
retries with backoff, retry_after honoured, rejected requests not retried, a dead endpoint
never failing the scan, and the token never printed."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from inspector.ops.notify import ATTEMPTS, Notifier, Telegram, Webhook
from jiraworld import world

from .helpers import inspector_env, restore_world, run_cli

TOKEN = "123456:AAH-secret-token"


class FakeBotAPI:
    """POST /bot<token>/sendMessage and POST /hook, with scripted failures first."""

    def __init__(self, failures: list[tuple[int, dict]] | None = None):
        self.messages: list[dict] = []
        self.hooks: list[dict] = []
        self.failures = list(failures or [])
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if api.failures:
                    status, payload = api.failures.pop(0)
                elif self.path == f"/bot{TOKEN}/sendMessage":
                    api.messages.append(body)
                    status = 200
                    payload = {"ok": True, "result": {"message_id": len(api.messages), "chat": {"id": body["chat_id"]},
                                                      "text": body["text"]}}  # fmt: skip
                elif self.path == "/hook":
                    api.hooks.append(body)
                    status, payload = 200, {"ok": True}
                else:
                    status, payload = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def api():
    server = FakeBotAPI()
    yield server
    server.close()


def test_retry_after_is_honoured_then_delivered(api):
    api.failures = [(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                           "parameters": {"retry_after": 3}})]  # fmt: skip
    waits = []
    notifier = Notifier([Telegram(api.url, TOKEN, "42")], sleep=waits.append)
    notifier.send("finish", "done")
    notifier.close()
    assert waits == [3.0]
    assert api.messages == [{"chat_id": "42", "text": "done", "disable_web_page_preview": True}]
    assert notifier.delivered == 1 and notifier.failed == 0


def test_server_errors_back_off_exponentially_and_give_up(api):
    api.failures = [(500, {"ok": False})] * ATTEMPTS
    waits = []
    notifier = Notifier([Telegram(api.url, TOKEN, "42")], sleep=waits.append)
    notifier.send("failure", "boom")
    notifier.close()
    assert len(waits) == ATTEMPTS - 1
    assert all(b > a for a, b in itertools.pairwise(waits))  # doubling, with jitter below 1.5x
    assert notifier.failed == 1 and api.messages == []


def test_rejected_request_is_not_retried(api):
    api.failures = [(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})]
    waits = []
    notifier = Notifier([Telegram(api.url, TOKEN, "42"), Webhook(api.url + "/hook")], sleep=waits.append)
    notifier.send("start", "hello", {"x": 1})
    notifier.close()
    assert waits == [] and notifier.failed == 1 and notifier.delivered == 1
    assert api.hooks == [
        {"source": "jira-attachment-inspector", "event": "start", "text": "hello", "summary": {"x": 1}}
    ]


def test_a_scan_notifies_start_and_finish_with_the_summary(api, jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=300))
    env = inspector_env(
        jira, root, workdir, INSPECTOR_TELEGRAM_TOKEN=TOKEN, INSPECTOR_TELEGRAM_CHAT_IDS="42,-1001",
        INSPECTOR_TELEGRAM_API_URL=api.url, INSPECTOR_WEBHOOK_URL=api.url + "/hook",
    )  # fmt: skip
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert sorted((m["chat_id"], m["text"].split(":")[0]) for m in api.messages) == [
        ("-1001", "Jira attachment inspection started"), ("-1001", "Jira attachment inspection, pass 1"),
        ("42", "Jira attachment inspection started"), ("42", "Jira attachment inspection, pass 1"),
    ]  # fmt: skip
    finish = next(h for h in api.hooks if h["event"] == "finish")
    assert finish["summary"]["missing"] == len(expected.missing)
    assert TOKEN not in result.stderr + result.stdout


def test_a_dead_endpoint_never_fails_the_scan(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=100))
    env = inspector_env(
        jira, root, workdir, INSPECTOR_TELEGRAM_TOKEN=TOKEN, INSPECTOR_TELEGRAM_CHAT_IDS="42",
        INSPECTOR_TELEGRAM_API_URL="http://127.0.0.1:9",
    )  # fmt: skip
    started = time.monotonic()
    result = run_cli([], env)
    assert result.returncode == 0
    assert orjson.loads((workdir / "report/summary.json").read_bytes())["status"] == "finished"
    assert "notification to telegram chat 42 failed" in result.stderr
    assert TOKEN not in result.stderr
    assert time.monotonic() - started < 60


RABBIT = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def rabbit():
    """A queue bound to a fresh topic exchange of the real RabbitMQ on 127.0.0.1:5672 (.ci/run
    starts one where none runs): (exchange, a function returning the messages that arrived)."""
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBIT))
    except pika.exceptions.AMQPConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the AMQP tests: no RabbitMQ on 127.0.0.1:5672 ({exc!r})")
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    channel = connection.channel()
    exchange = f"inspector-test-{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="inspector.#")

    def messages() -> list[tuple[str, int, dict]]:
        got = []
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return got
            got.append((method.routing_key, props.delivery_mode, orjson.loads(body)))

    yield exchange, messages
    channel.exchange_delete(exchange)
    connection.close()


def test_a_scan_publishes_its_events_to_rabbitmq(rabbit, jira, workdir):
    exchange, messages = rabbit
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=200))
    env = inspector_env(jira, root, workdir, INSPECTOR_AMQP_URL=RABBIT, INSPECTOR_AMQP_EXCHANGE=exchange)
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    got = messages()
    assert [(key, mode) for key, mode, _ in got] == [("inspector.start", 2), ("inspector.finish", 2)]
    start, finish = got[0][2], got[1][2]
    assert start["event"] == "start" and start["source"] == "jira-attachment-inspector"
    assert finish["summary"]["missing"] == len(expected.missing) and "pass 1" in finish["text"]
    assert "guest:guest" not in result.stderr + result.stdout


def test_a_restore_publishes_its_start_and_its_counts(rabbit, jira, workdir):
    exchange, messages = rabbit
    w = restore_world(jira, workdir, attachments=100)
    assert run_cli([], w.env).returncode == 0
    env = dict(w.env, INSPECTOR_AMQP_URL=RABBIT, INSPECTOR_AMQP_EXCHANGE=exchange)
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], env)
    assert result.returncode == 0, result.stderr
    got = messages()
    assert [key for key, _, _ in got] == ["inspector.restore_start", "inspector.restore_finish"]
    finish = got[1][2]
    assert finish["summary"]["restored"] == len(w.copied)
    assert finish["summary"]["not_in_backup"] == len(w.gone) and str(w.backup) in finish["text"]


def test_a_broker_that_is_down_never_fails_the_scan(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=100))
    env = inspector_env(jira, root, workdir, INSPECTOR_AMQP_URL="amqp://guest:s3cret@127.0.0.1:9/%2F")
    started = time.monotonic()
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert orjson.loads((workdir / "report/summary.json").read_bytes())["status"] == "finished"
    assert "notification to amqp exchange jira-attachment-inspector at 127.0.0.1:9 failed" in result.stderr
    assert "s3cret" not in result.stderr
    assert time.monotonic() - started < 60


def test_credentials_the_broker_refuses_are_not_retried(rabbit):
    from inspector.ops.notify import Amqp

    waits = []
    notifier = Notifier([Amqp("amqp://guest:wrong@127.0.0.1:5672/%2F", rabbit[0])], sleep=waits.append)
    notifier.send("start", "hello")
    notifier.close()
    assert waits == [] and notifier.failed == 1 and rabbit[1]() == []
