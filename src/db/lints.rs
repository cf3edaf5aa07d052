//! The advisor lints: twelve of Supabase's splinter lints, rewritten so they run on any
//! `PostgreSQL`. Each is one catalog query returning `(object, key, detail)` rows; its name,
//! level and one-line remedy live here.
//!
//! How they are adapted (splinter assumes Supabase):
//! - "readable by the API roles" means readable by `anon` or `authenticated` when those roles
//!   exist; on a server without them every table counts as readable (the application's own role
//!   reads it), instead of splinter's error on the missing role.
//! - "exposed schemas" are `PostgREST`'s `pgrst.db_schemas` when it is set, else `public` (what
//!   Supabase exposes by default and what an application's tables usually live in).
//! - `multiple_permissive_policies` expands a policy `TO PUBLIC` to every role
//!   (system roles and roles that bypass RLS aside), as splinter does; without the Supabase roles it also reports the
//!   `public` pseudo-role, so two PUBLIC policies are found on a server whose only role is a
//!   superuser.
//! - Keys are splinter's `cache_key`s (`rls_disabled_in_public_public_todos`), except that
//!   `function_search_path_mutable` hashes the argument types instead of the body, so the key
//!   survives an edit of the function.
//!
//! Every query runs with `search_path = ''` and names `pg_catalog` itself.

use crate::config::database::Level;

/// One lint: name, level, what it finds, and the fix.
#[derive(Debug, Clone, Copy)]
pub struct Lint {
    pub name: &'static str,
    pub level: Level,
    /// One line: what it detects.
    pub title: &'static str,
    /// One line: what to do about a finding.
    pub remedy: &'static str,
    /// The query, with `{prelude}`, `{excluded}`, `{readable}` and `{own}` still in it.
    sql: &'static str,
}

/// The schemas splinter leaves alone: platform and extension schemas, never the application's.
const EXCLUDED_SCHEMAS: &str = "'auth','cron','extensions','graphql','graphql_public','information_schema','net','pgmq','pgroonga','pgsodium','pgsodium_masks','pgtle','pgbouncer','pg_catalog','realtime','repack','storage','supabase_functions','supabase_migrations','tiger','topology','vault'";

/// Which roles are the API's, and which schemas it exposes (see the module comment).
const PRELUDE: &str = "WITH api AS (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname IN ('anon', 'authenticated')
), exposed AS (
    SELECT pg_catalog.btrim(s) AS nspname
    FROM pg_catalog.unnest(pg_catalog.string_to_array(
        coalesce(nullif(pg_catalog.current_setting('pgrst.db_schemas', true), ''), 'public'), ',')) s
)";

pub const LINTS: &[Lint] = &[
    Lint {
        name: "rls_disabled_in_public",
        level: Level::Error,
        title: "table in an exposed schema, readable by the API roles, with row-level security off",
        remedy: "ALTER TABLE ... ENABLE ROW LEVEL SECURITY, then add policies for who may read and write",
        sql: "{prelude}
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'rls_disabled_in_public_' || n.nspname || '_' || c.relname,
       'row-level security is off on a table the API can read'
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT c.relrowsecurity
  AND n.nspname IN (SELECT nspname FROM exposed) AND {excluded} AND {own} AND {readable}
ORDER BY 1",
    },
    Lint {
        name: "policy_exists_rls_disabled",
        level: Level::Error,
        title: "policies exist but row-level security is not enabled, so none of them applies",
        remedy: "ALTER TABLE ... ENABLE ROW LEVEL SECURITY (the policies do nothing until then)",
        sql: "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'policy_exists_rls_disabled_' || n.nspname || '_' || c.relname,
       'policies ' || pg_catalog.string_agg(p.polname, ', ' ORDER BY p.polname) || ' exist but row-level security is off'
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND {excluded}
GROUP BY n.nspname, c.relname
ORDER BY 1",
    },
    Lint {
        name: "rls_enabled_no_policy",
        level: Level::Info,
        title: "row-level security is on but there is no policy: nobody but the owner sees a row",
        remedy: "CREATE POLICY ... for the roles that should read or write it (or accept deny-all)",
        sql: "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'rls_enabled_no_policy_' || n.nspname || '_' || c.relname,
       'row-level security is on and the table has no policy'
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND {excluded} AND {own}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)
ORDER BY 1",
    },
    Lint {
        name: "security_definer_view",
        level: Level::Error,
        title: "view in an exposed schema runs with its owner's rights, bypassing the caller's row-level security",
        remedy: "ALTER VIEW ... SET (security_invoker = on)",
        sql: "{prelude}
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'security_definer_view_' || n.nspname || '_' || c.relname,
       'view without security_invoker: it reads with its owner''s rights'
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'v' AND n.nspname IN (SELECT nspname FROM exposed) AND {excluded} AND {own} AND {readable}
  AND pg_catalog.current_setting('server_version_num')::int >= 150000
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.unnest(coalesce(c.reloptions, '{}')) o
      WHERE pg_catalog.lower(o) IN ('security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'))
ORDER BY 1",
    },
    Lint {
        name: "function_search_path_mutable",
        level: Level::Warn,
        title: "function without a fixed search_path: a caller's search_path can change what it runs",
        remedy: "ALTER FUNCTION ... SET search_path = '' (and schema-qualify the names it uses)",
        sql: "SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       'function_search_path_mutable_' || n.nspname || '_' || p.proname || '_' || pg_catalog.md5(pg_catalog.pg_get_function_identity_arguments(p.oid)),
       'function has no search_path setting'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND {excluded}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(coalesce(p.proconfig, '{}')) cfg WHERE cfg LIKE 'search\\_path=%')
ORDER BY 1",
    },
    Lint {
        name: "rls_policy_always_true",
        level: Level::Warn,
        title: "permissive policy that lets every row through (USING (true) / WITH CHECK (true)) for writes",
        remedy: "replace `true` with the real rule (e.g. `(select auth.uid()) = user_id`), or drop the policy",
        sql: "{prelude}
SELECT pg_catalog.format('%I.%I policy %I', n.nspname, c.relname, p.polname),
       'rls_policy_always_true_' || n.nspname || '_' || c.relname || '_' || p.polname,
       'policy ' || p.polname || ' for ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END || ' allows every row'
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT
    pg_catalog.regexp_replace(pg_catalog.lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')), '\\s', '', 'g') AS q,
    pg_catalog.regexp_replace(pg_catalog.lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')), '\\s', '', 'g') AS w) e
WHERE p.polpermissive AND {excluded}
  AND (p.polroles = '{0}' OR NOT EXISTS (SELECT 1 FROM api) OR p.polroles && ARRAY(SELECT oid FROM api))
  AND ((p.polcmd IN ('w', 'd', '*') AND e.q IN ('true', '(true)', '1=1', '(1=1)'))
    OR (p.polcmd IN ('a', 'w', '*') AND e.w IN ('true', '(true)', '1=1', '(1=1)'))
    OR (p.polcmd = 'a' AND p.polwithcheck IS NULL))
ORDER BY 1",
    },
    Lint {
        name: "multiple_permissive_policies",
        level: Level::Warn,
        title: "more than one permissive policy for the same role and action: each is evaluated for every row",
        remedy: "merge the policies into one (their conditions OR-ed), or make the extra ones RESTRICTIVE",
        sql: "{prelude}
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) || ' for ' || who.role || ' on ' || act.cmd,
       'multiple_permissive_policies_' || n.nspname || '_' || c.relname || '_' || who.role || '_' || pg_catalog.lower(act.cmd),
       'permissive policies ' || pg_catalog.string_agg(p.polname, ', ' ORDER BY p.polname) || ' all apply to ' || who.role || ' ' || act.cmd
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT r.rolname::text FROM pg_catalog.pg_roles r
    WHERE (r.oid = ANY (p.polroles) OR p.polroles = '{0}')
      AND r.rolname NOT LIKE 'pg\\_%' AND r.rolname NOT LIKE 'supabase%admin' AND NOT r.rolbypassrls
    UNION ALL
    SELECT 'public' WHERE p.polroles = '{0}' AND NOT EXISTS (SELECT 1 FROM api)
) AS who(role)
CROSS JOIN LATERAL pg_catalog.unnest(CASE p.polcmd
    WHEN 'r' THEN ARRAY['SELECT'] WHEN 'a' THEN ARRAY['INSERT']
    WHEN 'w' THEN ARRAY['UPDATE'] WHEN 'd' THEN ARRAY['DELETE']
    ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END) AS act(cmd)
WHERE p.polpermissive AND {excluded}
GROUP BY n.nspname, c.relname, who.role, act.cmd
HAVING pg_catalog.count(*) > 1
ORDER BY 1",
    },
    Lint {
        name: "auth_rls_initplan",
        level: Level::Warn,
        title: "policy calls auth.uid()/jwt()/role()/email() or current_setting() once per row",
        remedy: "wrap the call in a sub-select, e.g. `(select auth.uid())`, so it runs once per query",
        sql: "SELECT pg_catalog.format('%I.%I policy %I', n.nspname, c.relname, p.polname),
       'auth_rls_init_plan_' || n.nspname || '_' || c.relname || '_' || p.polname,
       'policy ' || p.polname || ' re-evaluates a per-query value for each row'
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT
    pg_catalog.lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')) || ' ' ||
    pg_catalog.lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')) AS x) e
WHERE {excluded}
  AND (pg_catalog.regexp_replace(e.x, 'select\\s+\\(*\\s*auth\\.(uid|jwt|role|email)\\(\\)', '', 'g') ~ 'auth\\.(uid|jwt|role|email)\\(\\)'
    OR pg_catalog.regexp_replace(e.x, 'select\\s+\\(*\\s*current_setting\\(', '', 'g') ~ 'current_setting\\(')
ORDER BY 1",
    },
    Lint {
        name: "unindexed_foreign_keys",
        level: Level::Info,
        title: "foreign key without an index on its columns: joins and cascading deletes scan the table",
        remedy: "CREATE INDEX CONCURRENTLY ... ON the table (the foreign key's columns)",
        sql: "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) || ' (' || con.conname || ')',
       'unindexed_foreign_keys_' || n.nspname || '_' || c.relname || '_' || con.conname,
       'foreign key ' || con.conname || ' on (' || (
           SELECT pg_catalog.string_agg(a.attname, ', ' ORDER BY k.ord)
           FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
       ) || ') has no covering index'
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f' AND {excluded} AND {own}
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_index i
      WHERE i.indrelid = con.conrelid AND i.indisvalid
        AND (i.indkey::int2[])[0:pg_catalog.array_length(con.conkey, 1) - 1] @> con.conkey
        AND (i.indkey::int2[])[0:pg_catalog.array_length(con.conkey, 1) - 1] <@ con.conkey)
ORDER BY 1",
    },
    Lint {
        name: "no_primary_key",
        level: Level::Info,
        title: "table without a primary key: rows cannot be addressed one by one, replication cannot update them",
        remedy: "ALTER TABLE ... ADD PRIMARY KEY (...), e.g. an identity column",
        sql: "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'no_primary_key_' || n.nspname || '_' || c.relname,
       'table has no primary key'
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {excluded} AND {own}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
ORDER BY 1",
    },
    Lint {
        name: "duplicate_index",
        level: Level::Warn,
        title: "identical indexes on one table: every write maintains both, reads use one",
        remedy: "DROP INDEX CONCURRENTLY all but one of them",
        sql: "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
       'duplicate_index_' || n.nspname || '_' || c.relname || '_' || pg_catalog.string_agg(ic.relname, '_' ORDER BY ic.relname),
       'indexes ' || pg_catalog.string_agg(ic.relname, ', ' ORDER BY ic.relname) || ' are identical'
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE {excluded} AND {own}
GROUP BY n.nspname, c.relname, i.indrelid, ic.relam, i.indkey::text, i.indclass::text, i.indcollation::text,
         i.indoption::text, i.indisunique, coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), ''),
         coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '')
HAVING pg_catalog.count(*) > 1
ORDER BY 1",
    },
    Lint {
        name: "extension_in_public",
        level: Level::Warn,
        title: "extension installed in schema public: its objects are exposed and can be shadowed",
        remedy: "ALTER EXTENSION ... SET SCHEMA extensions (create the schema first)",
        sql: "SELECT e.extname::text,
       'extension_in_public_' || e.extname,
       'extension ' || e.extname || ' is installed in schema public'
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE n.nspname = 'public' AND e.extname <> 'plpgsql'
ORDER BY 1",
    },
];

/// Every lint's name, in catalogue order (what `lints: default` runs). The list lives with
/// the config that validates `lints:` against it; the test below keeps it in step with [`LINTS`].
pub use crate::config::database::LINT_NAMES as NAMES;

/// The lint of this name.
pub fn find(name: &str) -> Option<&'static Lint> {
    LINTS.iter().find(|l| l.name == name)
}

/// The condition that leaves out platform and extension schemas (namespace alias `n`).
pub fn excluded() -> String {
    format!(
        "NOT (n.nspname IN ({EXCLUDED_SCHEMAS}) OR n.nspname LIKE '\\_timescaledb%' OR n.nspname LIKE 'pg\\_%')"
    )
}

impl Lint {
    /// The query as sent: placeholders filled in.
    pub fn query(&self) -> String {
        self.sql
            .replace("{prelude}", PRELUDE)
            .replace("{excluded}", &excluded())
            .replace(
                "{own}",
                "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')",
            )
            .replace(
                "{readable}",
                "(NOT EXISTS (SELECT 1 FROM api) OR EXISTS (SELECT 1 FROM api WHERE pg_catalog.has_table_privilege(api.oid, c.oid, 'SELECT')))",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_and_the_names_agree_and_every_placeholder_is_filled() {
        assert_eq!(LINTS.len(), NAMES.len());
        for (lint, name) in LINTS.iter().zip(NAMES) {
            assert_eq!(lint.name, *name);
            let q = lint.query();
            assert!(
                !q.contains('{') || q.contains("'{0}'") || q.contains("'{}'"),
                "{q}"
            );
            assert!(!q.contains("{excluded}") && !q.contains("{prelude}"), "{q}");
            assert!(!lint.remedy.ends_with('.') && !lint.title.ends_with('.'));
        }
    }
}
