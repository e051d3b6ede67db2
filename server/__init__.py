"""The reset backend: the only process that holds directory credentials and talks to the
directories. It receives sealed requests over UDP from the relays."""
