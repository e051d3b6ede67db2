"""The OpenLDAP lab's cn=config and seed data, as LDIF (the recipe of directory-lab.md §2)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from pwreset_lab.directory import SAMPLE_PASSWORD, SAMPLE_USERS

SUFFIX = "dc=example,dc=org"
PEOPLE_DN = f"ou=People,{SUFFIX}"
ADMIN_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=svc-sspr,ou=Service,{SUFFIX}"
POLICY_DN = f"cn=default,ou=Policies,{SUFFIX}"
# The value ppolicy reads as "locked by an administrator, forever" (until deleted).
ADMIN_LOCK = "000001010000Z"
PEERCRED_ROOT = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"

# The default password policy the tests and the demo rely on.
POLICY = {
    "pwdAttribute": "userPassword",
    "pwdMinLength": "8",
    "pwdInHistory": "3",
    "pwdCheckQuality": "2",
    "pwdLockout": "TRUE",
    "pwdMaxFailure": "3",
    "pwdLockoutDuration": "300",
    "pwdFailureCountInterval": "300",
    "pwdMustChange": "TRUE",
    "pwdAllowUserChange": "TRUE",
    "pwdSafeModify": "FALSE",
    "pwdMaxAge": "7776000",
    "pwdExpireWarning": "604800",
    "pwdGraceAuthNLimit": "0",
    "pwdMinAge": "0",
}


def ssha(password: str) -> str:
    """{SSHA} hash as slappasswd makes it: slapadd bypasses the overlay that would hash."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - slapd's format
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def config_ldif(root: Path, admin_password: str) -> str:
    """cn=config: mdb database, ppolicy overlay, TLS certificate and the lab's ACLs.

    Like AD, the lab refuses a simple bind without TLS (olcSecurity simple_bind): its
    ldap:// port answers StartTLS, and a password sent in clear there fails the test.
    The service account is a ppolicy password administrator (`manage` on userPassword)
    allowed to act as the users (olcAuthzPolicy, authzTo): see docs/configuration.md.
    """
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcArgsFile: {root}/slapd.args
olcLogLevel: stats
olcTLSCertificateFile: {root}/tls.crt
olcTLSCertificateKeyFile: {root}/tls.key
olcSecurity: simple_bind=64
olcAuthzPolicy: to

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/nis.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{SSHA}}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact={PEERCRED_ROOT} manage by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ssha(admin_password)}
olcDbDirectory: {root}/data
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,mail eq
olcAccess: {{0}}to * by dn.exact={PEERCRED_ROOT} manage by * break
olcAccess: {{1}}to attrs=userPassword by dn.exact="{SERVICE_DN}" manage by self write
  by anonymous auth by * none
olcAccess: {{2}}to attrs=pwdAccountLockedTime,pwdReset by dn.exact="{SERVICE_DN}" write
  by self read by * none
olcAccess: {{3}}to dn.subtree="{PEOPLE_DN}" by dn.exact="{SERVICE_DN}" read by self read
  by users search by * none
olcAccess: {{4}}to * by users read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: {POLICY_DN}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""


def data_ldif(service_password: str) -> str:
    """The suffix, the default policy, the service account and the sample users."""
    policy = "".join(f"{k}: {v}\n" for k, v in POLICY.items())
    users = "".join(_user_ldif(uid) for uid in SAMPLE_USERS)
    return f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: ou=Policies,{SUFFIX}
objectClass: organizationalUnit
ou: Policies

dn: {POLICY_DN}
objectClass: device
objectClass: pwdPolicy
cn: default
{policy}
dn: ou=Service,{SUFFIX}
objectClass: organizationalUnit
ou: Service

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc-sspr
userPassword: {ssha(service_password)}
authzTo: dn.subtree:{PEOPLE_DN}

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: People
{users}"""


def _user_ldif(uid: str) -> str:
    # dave is the administratively locked sample user.
    lock = f"pwdAccountLockedTime: {ADMIN_LOCK}\n" if uid == "dave" else ""
    return f"""
dn: uid={uid},{PEOPLE_DN}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid.capitalize()} Test
givenName: {uid.capitalize()}
sn: Test
mail: {uid}@example.org
mobile: +15550199
userPassword: {ssha(SAMPLE_PASSWORD)}
{lock}"""
