"""The operations the backend serves (`service` dispatches to them): `recovery` (reset and
unlock), `enroll`, `change`, `meta` (what the pages ask about) and `admin` (the console's
requests). What they share: `context` (the flow context and the request step, which audits),
`tokens`, `questions`, `codes`, `lockout`, `pending` (work an unclean stop cut short),
`fields` and `errors`."""
