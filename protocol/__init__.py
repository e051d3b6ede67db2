"""What the relay (pwreset.api) and the backend (pwreset.server) share: the sealed wire
protocol, message shapes and the stable error codes. Imports nothing else of pwreset."""
