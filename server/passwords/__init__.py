"""Password policy: the local and the directory's rules as one policy, and the offline
breached-password list (an imported Pwned Passwords download)."""

from pwreset.server.passwords.breached_file import BreachedList, ImportSummary, write_breached_file
from pwreset.server.passwords.directory_rules import DirectoryRules, from_ppolicy
from pwreset.server.passwords.errors import BreachedFileError, PasswordsError, SourceError
from pwreset.server.passwords.policy import PasswordPolicy, refusal_code
from pwreset.server.passwords.pwned_source import read_ranges
from pwreset.server.passwords.rules import Rule, UserContext

__all__ = [
    "BreachedFileError",
    "BreachedList",
    "DirectoryRules",
    "ImportSummary",
    "PasswordPolicy",
    "PasswordsError",
    "Rule",
    "SourceError",
    "UserContext",
    "from_ppolicy",
    "read_ranges",
    "refusal_code",
    "write_breached_file",
]
