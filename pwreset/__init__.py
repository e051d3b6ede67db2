"""pwreset: self-service password reset for Active Directory and LDAP.

The root package holds the command line, the instance configuration and the throwaway lab
directories used by `pwreset demo` and the tests; the relay, backend, protocol and builder
live in their own subpackages (mapped from the repository's top-level folders).
"""

__version__ = "0.1.0"
