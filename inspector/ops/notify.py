"""Notifications on start, pause, resume, finish and failure: Telegram, a JSON webhook and
AMQP (RabbitMQ).

Sending happens on a background thread with bounded retries (exponential backoff with jitter,
honouring Telegram's ``retry_after``), so a slow or dead endpoint can never fail or stall a
scan; at exit the queue gets a bounded time to drain. Tokens and passwords are never logged:
messages name the chat, the exchange and the broker's host, not the URL.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request

import orjson

log = logging.getLogger("inspector.notify")

ATTEMPTS = 5
BACKOFF = 1.0  # seconds before the second attempt; doubles each time
TIMEOUT = 10.0


class Retry(Exception):
    """The delivery failed and may succeed later (``wait``: seconds the endpoint asked for)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class Rejected(Exception):
    """The endpoint refused the message for good (bad token, unknown chat): no retry."""


class _Target:
    name = "target"

    def deliver(self, event: str, text: str, summary: dict | None) -> None:
        """Send once; raise Retry or Rejected."""
        raise NotImplementedError


class _HttpTarget(_Target):
    def request(self, event: str, text: str, summary: dict | None) -> urllib.request.Request:
        raise NotImplementedError

    def deliver(self, event: str, text: str, summary: dict | None) -> None:
        try:
            with urllib.request.urlopen(self.request(event, text, summary), timeout=TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code != 429:
                raise Rejected(f"HTTP {exc.code}") from None
            raise Retry(f"HTTP {exc.code}", _retry_after(exc) if exc.code == 429 else None) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Retry(str(getattr(exc, "reason", exc))) from None


class Telegram(_HttpTarget):
    def __init__(self, api_url: str, token: str, chat_id: str):
        self.url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self.name = f"telegram chat {chat_id}"
        self.chat_id = chat_id

    def request(self, event, text, summary):
        body = {"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}
        return urllib.request.Request(
            self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
        )


class Webhook(_HttpTarget):
    def __init__(self, url: str):
        self.url = url
        self.name = "webhook"

    def request(self, event, text, summary):
        body = {"source": "jira-attachment-inspector", "event": event, "text": text, "summary": summary}
        return urllib.request.Request(
            self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
        )


class Amqp(_Target):
    """Every notification as a persistent JSON message to a topic exchange, routing key
    ``inspector.<event>``, with publisher confirms: a message counts as delivered once the
    broker has taken responsibility for it. A connection per message: notifications are a
    handful per pass, hours apart, and a connection kept that long would be dropped by the
    broker's heartbeat check in between (pika, the client of RabbitMQ's own tutorials)."""

    def __init__(self, url: str, exchange: str):
        self.url, self.exchange = url, exchange
        host = url.split("@")[-1].split("/")[0] if "@" in url else url.split("://")[-1].split("/")[0]
        self.name = f"amqp exchange {exchange} at {host}"

    def deliver(self, event: str, text: str, summary: dict | None) -> None:
        import pika

        body = orjson.dumps({"source": "jira-attachment-inspector", "event": event, "text": text, "summary": summary})
        params = pika.URLParameters(self.url)
        params.socket_timeout = params.blocked_connection_timeout = TIMEOUT
        params.connection_attempts, params.retry_delay = 1, 0
        connection = None
        try:
            connection = pika.BlockingConnection(params)
            channel = connection.channel()
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            channel.confirm_delivery()
            channel.basic_publish(
                self.exchange, f"inspector.{event}", body,
                pika.BasicProperties(content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent),
            )  # fmt: skip
        except pika.exceptions.ProbableAuthenticationError:
            raise Rejected("the broker refused the credentials") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise Retry(type(exc).__name__ + (f": {exc}" if str(exc) else "")) from None
        finally:
            if connection is not None and connection.is_open:
                with contextlib.suppress(Exception):  # a connection already broken: nothing left to close
                    connection.close()


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    try:
        return float(orjson.loads(exc.read())["parameters"]["retry_after"])
    except Exception:
        return None


class Notifier:
    def __init__(self, targets: list[_Target], sleep=time.sleep):
        self.targets = targets
        self._queue: queue.Queue = queue.Queue()
        self._sleep = sleep
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0

    @classmethod
    def from_config(cls, config) -> Notifier:
        targets: list[_Target] = [
            Telegram(config.telegram_api_url, config.telegram_token, chat) for chat in config.telegram_chat_ids
        ] if config.telegram_token else []  # fmt: skip
        if config.webhook_url:
            targets.append(Webhook(config.webhook_url))
        if config.amqp_url:
            targets.append(Amqp(config.amqp_url, config.amqp_exchange))
        return cls(targets)

    def send(self, event: str, text: str, summary: dict | None = None) -> None:
        """Queue a message for every target; returns at once."""
        if not self.targets:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="inspector-notify", daemon=True)
            self._thread.start()
        for target in self.targets:
            self._queue.put((target, event, text, summary))

    def close(self, timeout: float = 15.0) -> None:
        """Give queued messages a bounded time to go out (the finish or failure message)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._deliver(*item)

    def _deliver(self, target: _Target, event: str, text: str, summary: dict | None) -> None:
        delay = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                target.deliver(event, text, summary)
                self.delivered += 1
                return
            except Rejected as exc:
                log.warning("notification to %s rejected (%s); not retrying", target.name, exc)
                self.failed += 1
                return
            except Retry as exc:
                wait, reason = exc.wait, exc.reason
            if attempt == ATTEMPTS:
                break
            pause = wait if wait is not None else delay * (1 + random.random() / 2)  # jitter, still growing
            log.warning("notification to %s failed (%s); retry %d in %.1f s", target.name, reason, attempt, pause)
            self._sleep(pause)
            delay *= 2
        log.error("notification to %s (%s) given up after %d attempts", target.name, event, ATTEMPTS)
        self.failed += 1
