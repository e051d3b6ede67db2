"""Options several commands share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pwreset.cli.log_format import LOG_FORMATS
from pwreset.config import Config, load_config


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get("PWRESET_CONFIG", "pwreset.toml")),
        help="the instance configuration (default: $PWRESET_CONFIG or ./pwreset.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def config_of(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def add_log_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text lines (default) or one JSON object per line, with the request id",
    )
