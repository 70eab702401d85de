"""Shape shared by the platform audit log (public) and each agency's audit log."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# A trigger refuses UPDATE, DELETE and TRUNCATE, so the log is append-only in the database
# itself, whatever code (or person with SQL access through the app role) touches it.
IMMUTABLE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def immutable_trigger_sql(table: str) -> str:
    return f"""
    CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();
    CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();
    """


class _SetByTheDatabase:
    """A column the chain trigger sets (tenants.audit_chain): whatever the INSERT passes is
    overwritten, and the value stored comes back with RETURNING."""

    db_returning = True


class ChainPositionField(_SetByTheDatabase, models.BigIntegerField):
    pass


class ChainHashField(_SetByTheDatabase, models.CharField):
    pass


class AuditEventBase(models.Model):
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_display = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # The HTTP request or job that did it (core.context): ties together the rows of one action
    # and a user's report (the X-Request-ID response header). Nullable, so the rows hashed
    # before the column existed keep their hashes (tenants.audit_chain).
    request_id = models.CharField(_("request id"), max_length=64, null=True, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    # The hash chain (tenants.audit_chain), set by a trigger on INSERT.
    chain_seq = ChainPositionField(_("chain position"), unique=True, editable=False)
    prev_hash = ChainHashField(_("previous hash"), max_length=64, editable=False)
    row_hash = ChainHashField(_("hash"), max_length=64, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
