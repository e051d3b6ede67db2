"""The operator's kit (`pwreset deploy`): systemd units for `pwreset server` and `pwreset web`
and reverse-proxy configurations (nginx, Caddy), rendered for one instance."""

from pwreset.deploy.kit import DeployError, KitFile, ProxyOptions, proxy_config, systemd_units

__all__ = ["DeployError", "KitFile", "ProxyOptions", "proxy_config", "systemd_units"]
