-- The operator's migration: picker earnings and payments, and the balance view.
-- `{{uid}}` is the signed-in picker: `(SELECT auth.uid())` on Supabase,
-- `(SELECT current_setting('app.picker_id', true)::uuid)` on plain PostgreSQL.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS citext SCHEMA extensions;

CREATE TABLE public.picker_earnings (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  picker_id uuid NOT NULL,
  order_ref extensions.citext NOT NULL,
  amount_cents integer NOT NULL CHECK (amount_cents >= 0),
  earned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX picker_earnings_picker_id_idx ON public.picker_earnings (picker_id);

CREATE TABLE public.picker_payments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  picker_id uuid NOT NULL,
  earning_id bigint NOT NULL REFERENCES public.picker_earnings (id),
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  paid_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX picker_payments_picker_id_idx ON public.picker_payments (picker_id);
CREATE INDEX picker_payments_earning_id_idx ON public.picker_payments (earning_id);

ALTER TABLE public.picker_earnings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.picker_payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY picker_earnings_select_own ON public.picker_earnings FOR SELECT
  USING (picker_id = {{uid}});
CREATE POLICY picker_payments_select_own ON public.picker_payments FOR SELECT
  USING (picker_id = {{uid}});
CREATE POLICY picker_payments_insert_own ON public.picker_payments FOR INSERT
  WITH CHECK (picker_id = {{uid}});

CREATE VIEW public.picker_balances WITH (security_invoker = on) AS
  SELECT e.picker_id,
         sum(e.amount_cents) - coalesce((SELECT sum(p.amount_cents) FROM public.picker_payments p
                                         WHERE p.picker_id = e.picker_id), 0) AS balance_cents
  FROM public.picker_earnings e
  GROUP BY e.picker_id;

CREATE FUNCTION public.picker_balance(p_picker uuid) RETURNS bigint
  LANGUAGE sql STABLE SET search_path = ''
  AS $$ SELECT balance_cents FROM public.picker_balances WHERE picker_id = p_picker $$;

INSERT INTO public.picker_earnings (picker_id, order_ref, amount_cents)
  SELECT ('00000000-0000-0000-0000-00000000000' || (i % 3))::uuid, 'ORD-' || i, 100 * i
  FROM generate_series(1, 30) i;
INSERT INTO public.picker_payments (picker_id, earning_id, amount_cents)
  SELECT picker_id, id, amount_cents / 2 FROM public.picker_earnings WHERE id % 2 = 0;
