"""Notifications on start, pause, resume, finish and failure: Telegram and a JSON webhook.

Sending happens on a background thread with bounded retries (exponential backoff with jitter,
honouring Telegram's ``retry_after``), so a slow or dead endpoint can never fail or stall a
scan; at exit the queue gets a bounded time to drain. Tokens are never logged: messages name
the chat, not the URL.
"""

from __future__ import annotations

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


class _Target:
    name = "target"

    def request(self, event: str, text: str, summary: dict | None) -> urllib.request.Request:
        raise NotImplementedError


class Telegram(_Target):
    def __init__(self, api_url: str, token: str, chat_id: str):
        self.url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self.name = f"telegram chat {chat_id}"
        self.chat_id = chat_id

    def request(self, event, text, summary):
        body = {"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}
        return urllib.request.Request(
            self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
        )


class Webhook(_Target):
    def __init__(self, url: str):
        self.url = url
        self.name = "webhook"

    def request(self, event, text, summary):
        body = {"source": "jira-attachment-inspector", "event": event, "text": text, "summary": summary}
        return urllib.request.Request(
            self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
        )


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
                with urllib.request.urlopen(target.request(event, text, summary), timeout=TIMEOUT) as response:
                    response.read()
                self.delivered += 1
                return
            except urllib.error.HTTPError as exc:
                wait = _retry_after(exc) if exc.code == 429 else None
                reason = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    log.warning("notification to %s rejected (%s); not retrying", target.name, reason)
                    self.failed += 1
                    return
            except (urllib.error.URLError, OSError) as exc:
                wait, reason = None, str(getattr(exc, "reason", exc))
            if attempt == ATTEMPTS:
                break
            pause = wait if wait is not None else delay * (1 + random.random() / 2)  # jitter, still growing
            log.warning("notification to %s failed (%s); retry %d in %.1f s", target.name, reason, attempt, pause)
            self._sleep(pause)
            delay *= 2
        log.error("notification to %s (%s) given up after %d attempts", target.name, event, ATTEMPTS)
        self.failed += 1
