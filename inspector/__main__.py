"""``python -m inspector``: the container's entrypoint."""

from .cli import main

raise SystemExit(main())
