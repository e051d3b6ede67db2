"""Recovery factors: what a user proves a reset or unlock with (questions, a code sent by
e-mail or SMS, an authenticator app, recovery codes, passkeys), behind one interface
(`base.Factor`), listed by `registry`, and how many of them a flow needs (`policy`)."""
