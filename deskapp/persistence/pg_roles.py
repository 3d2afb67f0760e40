"""PostgreSQL: group roles, GRANTs and row-level security generated from the permission table.

In shared mode every desktop holds a database connection, so the rules must hold in the
server. Each Deskapp role is a group role ``<prefix><role>`` (``deskapp_agent``,
``deskapp_lead``, ``deskapp_manager``, ``deskapp_admin`` by default); each person signs in
with a login of their own that is a member of one of them. What each group role may do is
generated here from ``deskapp.services.permissions.GRANTS`` through ``TABLE_PRIVILEGES`` (the
privileges each permission needs), so the services and the database enforce one table;
tests walk it both ways.

Row-level security adds what GRANTs cannot say: roles in ``SCOPED_ROLES`` (agents) may
UPDATE only incidents that are unassigned, theirs, or in one of their groups; everyone sees
and changes only their own saved filters; the audit trail takes INSERTs only, in one's own
name (or none), and only admins read it. Table owners (the account that runs migrations)
are not subject to row-level security.

The role-name prefix is kept in deskapp_settings (key ``pg_role_prefix``): roles are
cluster-wide, and tests (or two desks on one server) use prefixes of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from deskapp.domain.enums import Role
from deskapp.domain.errors import ConfigurationError, ValidationError
from deskapp.domain.text import counted
from deskapp.services.permissions import GRANTS, SCOPED_ROLES, Permission

log = logging.getLogger(__name__)

PREFIX_KEY = "pg_role_prefix"
DEFAULT_PREFIX = "deskapp_"
SCRAM_ITERATIONS = 4096
"""PostgreSQL's own default (scram_iterations) for SCRAM-SHA-256 verifiers."""

_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")

READ_TABLES = ("users", "assignment_groups", "group_members", "callers", "categories",
               "services", "priorities", "matrix_versions", "counters", "incidents",
               "activity", "incident_search", "reviews", "review_actions",
               "business_calendars", "business_holidays", "deskapp_settings",
               "alembic_version", "assignment_rules", "alert_rules", "alert_links",
               "email_messages", "email_attachments", "configuration_items")
"""Every role reads these (who may export a report is the services' rule)."""

CALLER_DETAILS = ("name", "email", "phone", "department", "location", "vip", "name_key",
                  "email_key", "phone_key", "sort_key", "version", "updated_at",
                  "updated_by_id")
"""The callers' columns an edit of their details writes (services/caller_admin.py)."""

TABLE_PRIVILEGES: dict[Permission, tuple[tuple[str, str], ...]] = {
    Permission.LOG: (("INSERT", "incidents"), ("INSERT", "activity"),
                     ("INSERT", "incident_search"), ("UPDATE", "incident_search"),
                     ("UPDATE", "counters"), ("INSERT", "callers"),
                     # Round robin remembers whom a logged call went to.
                     ("UPDATE", "assignment_rules.last_assignee_id"),
                     # The detection channels log as an agent of their own.
                     ("INSERT", "email_messages"), ("INSERT", "email_attachments"),
                     ("INSERT", "alert_links"), ("UPDATE", "alert_links")),
    Permission.EDIT: (("UPDATE", "incidents"), ("INSERT", "activity"),
                      # Callers to review: an agent clears the flag of a new caller.
                      ("UPDATE", "callers.needs_review"),
                      # An agent corrects a caller's details during a call (versioned);
                      # deactivating and merging (active, merged_into_id) are admins'.
                      *(("UPDATE", f"callers.{column}") for column in CALLER_DETAILS),
                      ("UPDATE", "incident_search"), ("INSERT", "reviews"),
                      ("UPDATE", "reviews"), ("INSERT", "review_actions"),
                      ("DELETE", "review_actions")),
    Permission.RESOLVE: (("UPDATE", "incidents"), ("INSERT", "activity")),
    Permission.REASSIGN: (("UPDATE", "incidents"), ("INSERT", "activity")),
    Permission.EDIT_MATRIX: (("INSERT", "matrix_versions"), ("UPDATE", "priorities"),
                             ("UPDATE", "business_calendars"),
                             ("INSERT", "business_holidays"),
                             ("DELETE", "business_holidays"),
                             # Saving may give open incidents the new priorities.
                             ("UPDATE", "incidents"), ("INSERT", "activity"),
                             # Alert mappings turn labels into matrix levels.
                             ("INSERT", "alert_rules"), ("UPDATE", "alert_rules"),
                             ("DELETE", "alert_rules")),
    Permission.MANAGE_PEOPLE: (("INSERT", "users"), ("UPDATE", "users"),
                               ("INSERT", "assignment_groups"),
                               ("UPDATE", "assignment_groups"),
                               ("INSERT", "group_members"), ("DELETE", "group_members"),
                               ("INSERT", "callers"), ("UPDATE", "callers"),
                               # A merge moves the duplicates' incidents to the survivor,
                               # raising their versions, with a timeline entry each.
                               *(("UPDATE", f"incidents.{column}") for column in (
                                   "caller_id", "version", "updated_at", "updated_by_id")),
                               ("INSERT", "activity"),
                               ("SELECT", "audit_log"), ("UPDATE", "deskapp_settings")),
    Permission.ESCALATE: (("UPDATE", "incidents"), ("INSERT", "activity")),
    Permission.CLEAR_ESCALATION: (("UPDATE", "incidents"), ("INSERT", "activity")),
    Permission.MANAGE_ASSIGNMENT_RULES: (("INSERT", "assignment_rules"),
                                         ("UPDATE", "assignment_rules"),
                                         ("DELETE", "assignment_rules")),
    # Only the away flag: the rest of a person's record is MANAGE_PEOPLE's.
    Permission.SET_AWAY: (("UPDATE", "users.away"),),
    # Deactivating replaces deleting: history keeps pointing at the rows.
    Permission.MANAGE_CATALOG: (("INSERT", "categories"), ("UPDATE", "categories"),
                                ("INSERT", "services"), ("UPDATE", "services"),
                                ("INSERT", "configuration_items"),
                                ("UPDATE", "configuration_items")),
    # Post-incident reviews are written by editors and by those who report (services/reviews).
    Permission.EXPORT_REPORTS: (("INSERT", "reviews"), ("UPDATE", "reviews"),
                                ("INSERT", "review_actions"), ("DELETE", "review_actions")),
}

ROW_SECURE_TABLES = ("incidents", "saved_filters", "audit_log")


def role_name(prefix: str, role: Role) -> str:
    """The group role of a Deskapp role."""
    return f"{prefix}{role.value}"


def privileges(role: Role) -> set[tuple[str, str]]:
    """(privilege, table) pairs the role's group role is granted, from the permission table."""
    granted = {("SELECT", table) for table in READ_TABLES}
    granted |= {("INSERT", "audit_log")}
    granted |= {(p, "saved_filters") for p in ("SELECT", "INSERT", "UPDATE", "DELETE")}
    for permission in GRANTS[role]:
        granted |= set(TABLE_PRIVILEGES[permission])
    return granted


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores, computed here (RFC 5802 / 7677).

    Sending the verifier rather than the password means the password never reaches the
    server, its statement log or pg_stat_activity. (PostgreSQL would SASLprep-normalise a
    non-ASCII password; this uses its UTF-8 bytes, which is what libpq sends when the
    password is already in normal form.)
    """
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
            f"${b64(stored_key).decode()}:{b64(server_key).decode()}")


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(f"'{name}' cannot be a PostgreSQL role name here.")
    return f'"{name}"'


class PgRoles:
    """Installs the role set on a database and manages people's logins (PostgreSQL only)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ConfigurationError("Database roles exist only on PostgreSQL.")
        self._engine = engine

    def prefix(self) -> str:
        """The role-name prefix of this database (``deskapp_`` unless installed otherwise)."""
        with self._engine.connect() as connection:
            value = connection.execute(
                text("SELECT value FROM deskapp_settings WHERE key = :key"),
                {"key": PREFIX_KEY}).scalar()
        return str(value) if value else DEFAULT_PREFIX

    def installed(self) -> bool:
        """Whether ``install`` has run on this database (it records its prefix)."""
        with self._engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('deskapp_settings')")).scalar() \
                    is None:
                return False  # a schema older than the settings (and the roles)
            return connection.execute(
                text("SELECT 1 FROM deskapp_settings WHERE key = :key"),
                {"key": PREFIX_KEY}).first() is not None

    # --- installing -----------------------------------------------------------------------

    def install(self, prefix: str | None = None) -> str:
        """Create (or bring up to date) the group roles, GRANTs and policies; returns the prefix.

        Run as the owner of the tables. Idempotent: privileges are revoked and granted again
        from the permission table, policies replaced.
        """
        chosen = prefix if prefix is not None else self.prefix()
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", chosen):
            raise ValidationError(f"'{chosen}' cannot be a role-name prefix.")
        with self._engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO deskapp_settings (key, value) VALUES (:key, :value) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                {"key": PREFIX_KEY, "value": chosen})
            for statement in install_statements(chosen, self._existing(connection)):
                connection.execute(text(statement))
        return chosen

    @staticmethod
    def _existing(connection: Connection) -> set[str]:
        return set(connection.execute(text("SELECT rolname FROM pg_roles")).scalars())

    def _require_installed(self) -> str:
        """This database's prefix, or a ConfigurationError saying to install the roles first:
        a login in group roles another database installed would get no GRANTs here."""
        if not self.installed():
            raise ConfigurationError(
                "Deskapp's database roles are not installed on this database: run "
                "'deskapp admin install-roles' on it first (as its owner), then try again.")
        return self.prefix()

    @staticmethod
    def _require_group_role(existing: set[str], prefix: str, role: Role) -> str:
        """The role's group role, or a ConfigurationError saying to install the roles first
        (rather than PostgreSQL's 'role ... does not exist' halfway through)."""
        name = role_name(prefix, role)
        if name not in existing:
            raise ConfigurationError(
                f"The database has no group role {name} for {role.value}s: run "
                "'deskapp admin install-roles' on it first (as its owner), then try again.")
        return name

    def uninstall(self, prefix: str) -> list[str]:
        """Drop this database's policies and the group roles of ``prefix`` (for tests and
        for taking a desk down); returns the roles dropped. Logins are left alone."""
        dropped: list[str] = []
        with self._engine.begin() as connection:
            existing = self._existing(connection)
            for table in ROW_SECURE_TABLES:
                for policy in connection.execute(text(
                        "SELECT policyname FROM pg_policies WHERE tablename = :t"),
                        {"t": table}).scalars():
                    connection.execute(text(f'DROP POLICY "{policy}" ON {table}'))
            for role in Role:
                name = role_name(prefix, role)
                if name in existing:
                    connection.execute(text(f"DROP OWNED BY {_ident(name)}"))
                    connection.execute(text(f"DROP ROLE {_ident(name)}"))
                    dropped.append(name)
        return dropped

    # --- logins (DatabaseLogins) ----------------------------------------------------------

    def create_login(self, username: str, password: str, role: Role) -> None:
        """A login for a person, with a SCRAM verifier, member of the role's group role."""
        prefix = self._require_installed()
        extra = " CREATEROLE" if role is Role.ADMIN else ""
        with self._engine.begin() as connection:
            existing = self._existing(connection)
            if username in existing:
                raise ValidationError(f"The database already has a login '{username}'.")
            group = self._require_group_role(existing, prefix, role)
            _unlogged(connection,
                      f"CREATE ROLE {_ident(username)} LOGIN{extra} PASSWORD "
                      f"'{scram_verifier(password)}' IN ROLE {_ident(group)}")

    def set_password(self, username: str, password: str) -> None:
        """Give the login a new password (as a SCRAM verifier)."""
        with self._engine.begin() as connection:
            _unlogged(connection,
                      f"ALTER ROLE {_ident(username)} PASSWORD '{scram_verifier(password)}'")

    def set_role(self, username: str, role: Role) -> None:
        """Make the login a member of this role's group role and of no other Deskapp role."""
        prefix = self._require_installed()
        with self._engine.begin() as connection:
            existing = self._existing(connection)
            self._require_group_role(existing, prefix, role)
            for other in Role:
                if role_name(prefix, other) not in existing:
                    continue  # nothing to revoke; REVOKE of an unknown role is an error
                connection.execute(text(
                    f"REVOKE {_ident(role_name(prefix, other))} FROM {_ident(username)}"))
            connection.execute(text(
                f"GRANT {_ident(role_name(prefix, role))} TO {_ident(username)}"))
            # Admins create logins for others (create_login gives them CREATEROLE too).
            create = "CREATEROLE" if role is Role.ADMIN else "NOCREATEROLE"
            connection.execute(text(f"ALTER ROLE {_ident(username)} {create}"))

    def set_login_enabled(self, username: str, enabled: bool) -> None:
        """LOGIN or NOLOGIN: a deactivated person's login is refused by the server itself.

        Deactivating also ends the sessions the person already holds, so that someone who
        leaves cannot keep working on an open connection (the admin group role is a member of
        pg_signal_backend for this: ``install_statements``). Where the server refuses that
        (roles installed by a non-superuser), the login is still NOLOGIN and the app refuses
        inactive users on every service call; the refusal is logged.
        """
        with self._engine.begin() as connection:
            connection.execute(text(
                f"ALTER ROLE {_ident(username)} {'LOGIN' if enabled else 'NOLOGIN'}"))
        if enabled:
            return
        try:
            with self._engine.begin() as connection:
                ended = connection.execute(text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE usename = :name "
                    "AND pid <> pg_backend_pid()"), {"name": username}).scalar_one()
        except DBAPIError as exc:
            log.warning("Could not end the open sessions of %s: %s", username,
                        str(exc.orig).splitlines()[0] if exc.orig else exc)
        else:
            if ended:
                log.info("Ended %s of deactivated login %s", counted(ended, "open session"),
                         username)

    def current_login(self) -> str:
        """The login this engine connects as."""
        with self._engine.connect() as connection:
            return str(connection.execute(text("SELECT current_user")).scalar_one())

    def is_owner(self) -> bool:
        """Whether this engine connects as a superuser or the database's owner (the desk's
        operator, who is trusted like the owner of a SQLite file)."""
        with self._engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT r.rolsuper OR d.datdba = r.oid FROM pg_roles r, pg_database d "
                "WHERE r.rolname = current_user AND d.datname = current_database()"
            )).scalar())


def _unlogged(connection: Connection, statement: str) -> None:
    """Run a statement holding a password verifier on the driver's own cursor, past
    SQLAlchemy's statement logging (a verifier is as secret as a password hash)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def install_statements(prefix: str, existing: Iterable[str] = ()) -> list[str]:
    """The SQL that installs the role set of ``prefix`` (roles in ``existing`` are kept)."""
    have = set(existing)
    roles = {role: _ident(role_name(prefix, role)) for role in Role}
    everyone = ", ".join(roles.values())
    out: list[str] = []
    for role, ident in roles.items():
        if role_name(prefix, role) not in have:
            out.append(f"CREATE ROLE {ident} NOLOGIN")
        out.append(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ident}")
        by_table: dict[str, set[str]] = {}
        for privilege, table in privileges(role):
            by_table.setdefault(table, set()).add(privilege)
        for table, privs in sorted(by_table.items()):
            # "table.column" grants one column (PostgreSQL's column privileges).
            name, _, column = table.partition(".")
            columns = f" ({column})" if column else ""
            for privilege in sorted(privs) if column else [", ".join(sorted(privs))]:
                out.append(f"GRANT {privilege}{columns} ON {name} TO {ident}")
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {everyone}")
    # Deactivating a person ends their open sessions (DatabaseLogins.set_login_enabled):
    # pg_signal_backend lets admins end sessions of non-superuser roles.
    out.append(f"GRANT pg_signal_backend TO {roles[Role.ADMIN]}")
    out.append(
        "CREATE OR REPLACE FUNCTION deskapp_current_user_id() RETURNS integer "
        "LANGUAGE sql STABLE SET search_path = pg_catalog, public AS "
        "$$ SELECT id FROM public.users WHERE username = current_user $$")
    out.append(
        "CREATE OR REPLACE FUNCTION deskapp_may_work(assignee integer, grp integer) "
        "RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$ "
        "SELECT (assignee IS NULL AND grp IS NULL) "
        "OR assignee = deskapp_current_user_id() "
        "OR grp IN (SELECT m.group_id FROM public.group_members m "
        "WHERE m.user_id = deskapp_current_user_id()) $$")
    out.append("REVOKE EXECUTE ON FUNCTION deskapp_audit_head() FROM PUBLIC")
    out.append(f"GRANT EXECUTE ON FUNCTION deskapp_audit_head() TO {everyone}")
    for table in ROW_SECURE_TABLES:
        out.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        out.append(f"DROP POLICY IF EXISTS deskapp_{prefix}read ON {table}")
        out.append(f"DROP POLICY IF EXISTS deskapp_{prefix}write ON {table}")
        out.append(f"DROP POLICY IF EXISTS deskapp_{prefix}update ON {table}")
        out.append(f"DROP POLICY IF EXISTS deskapp_{prefix}update_scoped ON {table}")
        out.append(f"DROP POLICY IF EXISTS deskapp_{prefix}own ON {table}")
    # Incidents: everyone reads; writers insert; updates scoped for SCOPED_ROLES.
    out.append(f"CREATE POLICY deskapp_{prefix}read ON incidents FOR SELECT TO {everyone} "
               "USING (true)")
    loggers = [roles[r] for r in Role if Permission.LOG in GRANTS[r]]
    if loggers:
        out.append(f"CREATE POLICY deskapp_{prefix}write ON incidents FOR INSERT "
                   f"TO {', '.join(loggers)} WITH CHECK (true)")
    updaters = [r for r in Role if any(("UPDATE", "incidents") in TABLE_PRIVILEGES[p]
                                       for p in GRANTS[r])]
    free = [roles[r] for r in updaters if r not in SCOPED_ROLES]
    scoped = [roles[r] for r in updaters if r in SCOPED_ROLES]
    if free:
        out.append(f"CREATE POLICY deskapp_{prefix}update ON incidents FOR UPDATE "
                   f"TO {', '.join(free)} USING (true) WITH CHECK (true)")
    if scoped:
        # USING judges the row as stored: reassigning one's own incident elsewhere is allowed.
        out.append(f"CREATE POLICY deskapp_{prefix}update_scoped ON incidents FOR UPDATE "
                   f"TO {', '.join(scoped)} "
                   "USING (deskapp_may_work(assignee_id, assignment_group_id)) "
                   "WITH CHECK (true)")
    out.append(f"CREATE POLICY deskapp_{prefix}own ON saved_filters FOR ALL TO {everyone} "
               "USING (owner_id = deskapp_current_user_id()) "
               "WITH CHECK (owner_id = deskapp_current_user_id())")
    out.append(f"CREATE POLICY deskapp_{prefix}write ON audit_log FOR INSERT TO {everyone} "
               "WITH CHECK (actor_id IS NULL OR actor_id = deskapp_current_user_id())")
    readers = [roles[r] for r in Role if ("SELECT", "audit_log") in privileges(r)]
    if readers:
        out.append(f"CREATE POLICY deskapp_{prefix}read ON audit_log FOR SELECT "
                   f"TO {', '.join(readers)} USING (true)")
    return out
