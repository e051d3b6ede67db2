"""One-time passwords the help desk gives a caller: random, easy to read out over the phone
(no look-alike characters), and accepted by the domain's policy."""

from __future__ import annotations

import secrets

from pwreset.server.passwords.errors import PasswordsError
from pwreset.server.passwords.policy import PasswordPolicy
from pwreset.server.passwords.rules import MIN_LENGTH, UserContext

# One of each class, so any character-class rule (at most 4 of them) is met; no 0/O, 1/l/I.
_CLASSES = ("abcdefghjkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "!#%+-=?@")
_ALPHABET = "".join(_CLASSES)
# 16 characters from 77: about 100 bits, far beyond guessing before the change at next logon.
LENGTH = 16
# Draws tried before giving up: a policy that refuses this many random passwords (a forbidden
# word list matching most of them) is a configuration to fix, not bad luck.
_DRAWS = 100


def one_time_password(policy: PasswordPolicy, user: UserContext) -> str:
    """A random password of at least LENGTH characters (more if the policy's minimum is
    higher) that breaks none of the policy's rules for `user`."""
    minimum = max((int(r.params["n"]) for r in policy.rules if r.id == MIN_LENGTH), default=0)
    length = max(LENGTH, minimum)
    random = secrets.SystemRandom()
    for _ in range(_DRAWS):
        chars = [random.choice(c) for c in _CLASSES]
        chars += [random.choice(_ALPHABET) for _ in range(length - len(chars))]
        random.shuffle(chars)
        password = "".join(chars)
        if not policy.check(password, user):
            return password
    ids = ",".join(rule.id for rule in policy.rules)
    raise PasswordsError(f"no random password of {length} characters met the rules ({ids})")
