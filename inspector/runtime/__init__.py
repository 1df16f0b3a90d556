"""Small parts the stages run on: a thread pool and watchdog for calls that hang, retries
(retry.py), pacing (throttle.py, adaptive.py), lock files and read-only SQLite.
"""
