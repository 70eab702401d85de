"""The bottom layer: helpers every app may use and that use no app.

ids and URL converters (``converters``), jobs that run in an agency's schema (``jobs``), the
audit-trail writers (``audit``; the tables belong to ``tenants``, which registers them), the
channel-layer group names (``realtime``), the port through which lower layers tell a user
something (``messaging``; the ``notifications`` app plugs itself in) and numbers per sequence
and year (``numbering``, an app of its own: its counter table is in public and every agency).
Nothing here imports a project app: see the layers contract in pyproject.toml.
"""
