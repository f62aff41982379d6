"""Create the folders of kombu's filesystem broker that the settings name.

The filesystem transport lists its inbox on every poll and fails when it is missing, and the
web process cannot queue a task into a folder that does not exist. Other brokers need
nothing: this does nothing for them.
"""

import os
import sys
from pathlib import Path

# Run as `python scripts/broker_folders.py` from the project root: make its packages
# importable as they are for manage.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return
    for option, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items():
        if option.endswith(("_folder", "_folder_in", "_folder_out")):
            Path(value).mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
