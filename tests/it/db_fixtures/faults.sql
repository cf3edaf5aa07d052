-- One planted fault per lint, applied on top of migration.sql. Each block starts with a
-- "fault:" comment naming the lint and the key prefix of the one finding it must produce.

-- fault: rls_disabled_in_public rls_disabled_in_public_public_picker_notes
CREATE TABLE public.picker_notes (id bigint PRIMARY KEY, note text);

-- fault: policy_exists_rls_disabled policy_exists_rls_disabled_internal_picker_audit
CREATE SCHEMA internal;
CREATE TABLE internal.picker_audit (id bigint PRIMARY KEY, what text);
CREATE POLICY picker_audit_none ON internal.picker_audit FOR SELECT USING (false);

-- fault: rls_enabled_no_policy rls_enabled_no_policy_public_picker_adjustments
CREATE TABLE public.picker_adjustments (id bigint PRIMARY KEY, amount_cents integer);
ALTER TABLE public.picker_adjustments ENABLE ROW LEVEL SECURITY;

-- fault: security_definer_view security_definer_view_public_picker_totals
CREATE VIEW public.picker_totals AS
  SELECT picker_id, sum(amount_cents) AS total_cents FROM public.picker_earnings GROUP BY picker_id;

-- fault: function_search_path_mutable function_search_path_mutable_public_picker_total_
CREATE FUNCTION public.picker_total(p_picker uuid) RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT sum(amount_cents) FROM public.picker_earnings WHERE picker_id = p_picker $$;

-- fault: rls_policy_always_true rls_policy_always_true_public_picker_payments_picker_payments_update_any
CREATE POLICY picker_payments_update_any ON public.picker_payments FOR UPDATE USING (true);

-- fault: multiple_permissive_policies multiple_permissive_policies_public_picker_earnings_
CREATE POLICY picker_earnings_select_recent ON public.picker_earnings FOR SELECT
  USING (earned_at > now() - interval '30 days');

-- fault: auth_rls_initplan auth_rls_init_plan_public_picker_payments_picker_payments_delete_own
CREATE POLICY picker_payments_delete_own ON public.picker_payments FOR DELETE
  USING (picker_id = {{bare_uid}});

-- fault: unindexed_foreign_keys unindexed_foreign_keys_public_picker_payments_picker_payments_earning_id_fkey
DROP INDEX public.picker_payments_earning_id_idx;

-- fault: no_primary_key no_primary_key_public_picker_events
CREATE TABLE public.picker_events (picker_id uuid NOT NULL, what text);
ALTER TABLE public.picker_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY picker_events_select_own ON public.picker_events FOR SELECT USING (picker_id = {{uid}});

-- fault: duplicate_index duplicate_index_public_picker_earnings_picker_earnings_by_picker_picker_earnings_picker_id_idx
CREATE INDEX picker_earnings_by_picker ON public.picker_earnings (picker_id);

-- fault: extension_in_public extension_in_public_hstore
CREATE EXTENSION hstore SCHEMA public;
