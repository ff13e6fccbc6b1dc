#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    from django.core.management import execute_from_command_line  # after DJANGO_SETTINGS_MODULE is set, as Django's own

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
