"""The pipeline's stages, one module each with one picklable ``run`` (``@runtime.stage``).

reader -> checkers -> writer, walkers beside them, and the hash feeder for duplicates; the
parent process (``pipeline.py``) starts them with ``spawn`` and joins them by bounded queues
that carry the messages of ``messages.py``.
"""
