#!/usr/bin/env python
"""Django's command-line utility for Beacon."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.management import execute_from_command_line

    from portal.startup import exit_on_configuration_error, exit_on_database_unreachable

    exit_on_configuration_error()
    with exit_on_database_unreachable():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
