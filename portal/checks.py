"""`manage.py check --deploy` flags the development keys (issue 10, point 3).

Django's own security.W009 only looks at the length and variety of SECRET_KEY; the repository's
development key passes it (57 characters). These checks know the development values and what
derives from them.
"""

import os

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def keys_are_not_development_ones(app_configs, **kwargs):
    from portal.settings import production_key_problems

    environ = dict(os.environ)
    # What the process actually runs with (settings may have been overridden in code).
    environ["SECRET_KEY"] = settings.SECRET_KEY
    environ["FIELD_ENCRYPTION_KEY"] = settings.FIELD_ENCRYPTION_KEY
    lookup = settings.IDENTITY_HASH_KEY
    environ["IDENTITY_HASH_KEY"] = lookup.decode("utf-8", "replace")
    if not os.environ.get("IDENTITY_HASH_KEY"):
        environ["IDENTITY_HASH_KEY"] = ""  # derived from SECRET_KEY: reported as not set
    if not os.environ.get("FIELD_ENCRYPTION_KEY"):
        environ["FIELD_ENCRYPTION_KEY"] = ""
    return [
        checks.Warning(
            f"Keys are not fit for production: {problem}.",
            hint="Set SECRET_KEY, FIELD_ENCRYPTION_KEY and IDENTITY_HASH_KEY to random values "
            "of their own (see the README's configuration section).",
            id="muamalat.W001",
        )
        for problem in production_key_problems(environ)
    ]
