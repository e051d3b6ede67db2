"""The admin console in the browser (`pwreset console`): sign-in with a directory account,
users, the audit log, activity and exports, on the internal side only."""
