"""``public.muamalat_number_next``: fast numbers for a role that may not create sequences.

The application's database role owns nothing and may not run DDL (tenants.dbroles), yet fast
sequences are created on first use, one per schema, key and year. This SECURITY DEFINER
function, owned by the owner role (installed with the other definer functions by
``tenants.dbroles.privileges_apply``), does it for it and takes the number:

    public.muamalat_number_next(p_schema text, p_key text, p_year integer,
                                p_create boolean DEFAULT true) RETURNS bigint

It accepts only a key that can name a sequence (``^[a-z0-9_]{1,40}$``), a year from 0 (no year)
to 9999, and the public schema or an agency schema the owner owns (not the template new
agencies are cloned from). The sequence is ``<schema>.num_<key>_<year>``: the year always
ends the name and has no underscore, so two (key, year) pairs never share one. With
``p_create`` false a missing sequence gives NULL instead (the caller creates it elsewhere).
Its search_path is pinned and every name it builds is quoted with ``%I``; it reads only
catalogs the caller cannot write. The application calls only this function: it needs no
privilege on the sequences.
"""

from psycopg import sql

from core.numbering import KEY_PATTERN

FUNCTION = "public.muamalat_number_next(text, text, integer, boolean)"


def function_sql(*, base_schema: str, agency_schema_pattern: str) -> sql.Composed:
    """CREATE OR REPLACE the function (run by the owner), closed to PUBLIC."""
    return sql.SQL(
        """
CREATE OR REPLACE FUNCTION public.muamalat_number_next(
    p_schema text, p_key text, p_year integer, p_create boolean DEFAULT true
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    base CONSTANT text := {base};
    sequence_name text;
    sequence_oid oid;
BEGIN
    IF p_key IS NULL OR p_key !~ {key_pattern} THEN
        RAISE EXCEPTION 'not a numbering key: %', p_key USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_year IS NULL OR p_year < 0 OR p_year > 9999 THEN
        RAISE EXCEPTION 'not a numbering year: %', p_year
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_schema IS NULL OR NOT (
        p_schema = 'public'
        OR (p_schema ~ {agency_pattern} AND p_schema <> base AND EXISTS (
            SELECT FROM pg_namespace
            WHERE nspname = p_schema
              AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)))
    ) THEN
        RAISE EXCEPTION 'not the public or an agency schema: %', p_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    sequence_name := 'num_' || p_key || '_' || p_year::text;
    SELECT c.oid INTO sequence_oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_schema AND c.relname = sequence_name AND c.relkind = 'S';
    IF sequence_oid IS NULL THEN
        IF NOT coalesce(p_create, false) THEN
            RETURN NULL;
        END IF;
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I.%I AS bigint',
                           p_schema, sequence_name);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;  -- a concurrent first caller created it meanwhile (and has committed)
        END;
        SELECT c.oid INTO STRICT sequence_oid FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = p_schema AND c.relname = sequence_name AND c.relkind = 'S';
    END IF;
    RETURN nextval(sequence_oid::regclass);
END
$fn$;
REVOKE ALL ON FUNCTION public.muamalat_number_next(text, text, integer, boolean) FROM PUBLIC;
"""
    ).format(
        base=sql.Literal(base_schema),
        key_pattern=sql.Literal(KEY_PATTERN),
        agency_pattern=sql.Literal(agency_schema_pattern),
    )
